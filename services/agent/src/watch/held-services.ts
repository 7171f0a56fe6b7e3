import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { mkdirPrivateSync, writePrivateFileSync } from '@smgr/shared';

/**
 * Services an operator stopped on purpose (a STOP job): the watch leaves them
 * alone, so a deliberate stop does not come back as an alarm, until a START,
 * RESTART or UPDATE succeeds. Kept on disk so an agent restart remembers.
 */
export class HeldServices {
  private readonly path: string;
  private readonly held = new Set<string>();

  constructor(stateDir: string) {
    mkdirPrivateSync(stateDir);
    this.path = join(stateDir, 'held-services.json');
    try {
      const list: unknown = JSON.parse(readFileSync(this.path, 'utf8'));
      if (Array.isArray(list)) for (const s of list) if (typeof s === 'string') this.held.add(s);
    } catch {
      // none yet, or unreadable: nothing held
    }
  }

  isHeld(service: string): boolean {
    return this.held.has(service);
  }

  hold(service: string): void {
    if (this.held.has(service)) return;
    this.held.add(service);
    this.save();
  }

  release(service: string): void {
    if (this.held.delete(service)) this.save();
  }

  list(): string[] {
    return [...this.held];
  }

  private save(): void {
    const tmp = `${this.path}.tmp`;
    writePrivateFileSync(tmp, JSON.stringify([...this.held]));
    renameSync(tmp, this.path);
  }
}
