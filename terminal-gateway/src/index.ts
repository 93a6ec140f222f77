export * from './config.ts';
export { AuditLog } from './audit.ts';
export { DirectoryDevices } from './devices.ts';
export { CLOSE, TerminalGateway } from './gateway.ts';
export { createTerminalServer } from './server.ts';
