import { checkUnitName, type ProbeRunner, type ServiceAction, type ServiceManager } from './service-manager.js';

/**
 * systemd through `systemctl`. `--no-ask-password` because nobody can answer a
 * polkit prompt: without the rule for the agent's user (docs/agent-privileges.md)
 * systemctl must fail at once with "Access denied", not wait.
 */
export class SystemdManager implements ServiceManager {
  readonly name = 'systemd' as const;

  constructor(
    private readonly probe: ProbeRunner,
    private readonly systemctl = 'systemctl',
  ) {}

  argv(action: ServiceAction, unit: string): string[] {
    if (action === 'status') return [this.systemctl, 'is-active', '--quiet', '--', unit];
    return [this.systemctl, action, '--no-ask-password', '--', unit];
  }

  async hasUnit(unit: string): Promise<boolean> {
    if (checkUnitName(unit)) return false;
    const r = await this.probe([this.systemctl, 'show', '--property=LoadState', '--value', '--', unit]);
    return r.ok && r.output.trim() === 'loaded';
  }
}
