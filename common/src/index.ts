export * from './errors.ts';
export * from './http.ts';
export * from './logger.ts';
export * from './config.ts';
export * from './health.ts';
export * from './upstream-config.ts';
