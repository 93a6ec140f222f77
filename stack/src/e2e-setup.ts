import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { up } from './cli.ts';
import { defaultContext } from './paths.ts';
import type { Endpoint } from './types.ts';

/** Brings the local stack up (reusing what runs) and hands its endpoints to the tests. */
export default async function setup(project: TestProject): Promise<void> {
  const ctx = defaultContext((m) => process.stderr.write(`${m}\n`));
  const endpoints = await up(ctx);
  project.provide('stack', endpoints);
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: Record<string, Endpoint>;
  }
}
