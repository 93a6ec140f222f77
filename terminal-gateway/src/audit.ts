import fs from 'node:fs';
import path from 'node:path';

export type AuditRecord =
  | {
      event: 'session';
      sessionId: string;
      user: string;
      sub: string;
      deviceId: string;
      tenant: string;
      reason: string;
      start: string;
      end: string;
      bytesIn: number;
      bytesOut: number;
      closedBy: string;
      transcript?: string;
    }
  | { event: 'session-start'; sessionId: string; user: string; sub: string; deviceId: string; tenant: string; tenantId: string; reason: string; start: string; remote?: string }
  | { event: 'denied'; at: string; user?: string; deviceId?: string; status: number; why: string; remote?: string };

/** Append-only JSON lines (0600). One line when a session starts, one when it ends, one per refusal; never a token. */
export class AuditLog {
  constructor(private readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  }

  write(r: AuditRecord): void {
    fs.appendFileSync(this.file, `${JSON.stringify(r)}\n`, { mode: 0o600 });
  }
}
