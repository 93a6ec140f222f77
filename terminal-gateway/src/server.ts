import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import express from 'express';
import { pageHeaders, signInRoutes, type SignInPage } from '@cdm/common';
import type { TerminalGateway } from './gateway.ts';

const require = createRequire(import.meta.url);
const dirOf = (pkg: string) => path.dirname(require.resolve(`${pkg}/package.json`));

/** The web page (xterm.js from node_modules, no CDN) and the WebSocket on one HTTP server. */
export function createTerminalServer(gateway: TerminalGateway, page: SignInPage): http.Server {
  const app = express();
  app.disable('x-powered-by');
  app.use(pageHeaders);
  app.use(signInRoutes(page));
  app.use('/xterm', express.static(path.join(dirOf('@xterm/xterm'), 'lib')));
  app.use('/xterm', express.static(path.join(dirOf('@xterm/xterm'), 'css')));
  app.use('/xterm-fit', express.static(path.join(dirOf('@xterm/addon-fit'), 'lib')));
  app.use(express.static(path.join(import.meta.dirname, 'page')));
  const server = http.createServer(app);
  gateway.attach(server);
  return server;
}
