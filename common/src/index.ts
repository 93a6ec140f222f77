export * from './errors.ts';
export * from './http.ts';
export * from './logger.ts';
export * from './config.ts';
