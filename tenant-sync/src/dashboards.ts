import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface DashboardFile {
  uid: string;
  title: string;
  /** First 12 hex of the file's sha256: tagged on the imported copy to tell whether it is current. */
  sha: string;
  json: Record<string, unknown>;
}

export const SHA_TAG = 'cdm-sha:';

/** Loads grafana-dashboards/*.json; a file without uid or title is refused at start-up, naming it. */
export function loadDashboards(dir: string): DashboardFile[] {
  if (!fs.existsSync(dir)) throw new Error(`dashboards directory ${dir} not found — set DASHBOARDS_DIR`);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const raw = fs.readFileSync(path.join(dir, f), 'utf8');
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(raw) as Record<string, unknown>;
      } catch (err) {
        throw new Error(`dashboard ${f} is not valid JSON: ${(err as Error).message}`, { cause: err });
      }
      if (typeof json.uid !== 'string' || !/^[A-Za-z0-9_-]{1,40}$/.test(json.uid)) throw new Error(`dashboard ${f} needs a "uid" of 1–40 letters, digits, - or _`);
      if (typeof json.title !== 'string' || !json.title) throw new Error(`dashboard ${f} needs a "title"`);
      return { uid: json.uid, title: json.title, sha: crypto.createHash('sha256').update(raw).digest('hex').slice(0, 12), json };
    });
}

/** The dashboard as imported: our tags added, Grafana's numeric id dropped (it differs per org). */
export function importable(d: DashboardFile): Record<string, unknown> {
  const tags = Array.isArray(d.json.tags) ? d.json.tags.map(String).filter((t) => t !== 'cdm' && !t.startsWith(SHA_TAG)) : [];
  const { id: _id, version: _v, ...rest } = d.json;
  return { ...rest, uid: d.uid, title: d.title, tags: [...tags, 'cdm', `${SHA_TAG}${d.sha}`] };
}
