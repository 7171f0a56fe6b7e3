/**
 * The processes the agent started itself and saw running under their
 * service's name (the process strategy's early-exit watch), until the kernel
 * tells the agent, their parent, that they exited. While a service has one,
 * the built-in name check (`pgrep -x -- NAME`) would pass: the watch need not
 * read /proc to know it, which is what keeps an idle agent's CPU near zero.
 */
export class StartedProcesses {
  private readonly byService = new Map<string, Set<number>>();

  add(service: string, pid: number): void {
    let pids = this.byService.get(service);
    if (!pids) this.byService.set(service, (pids = new Set()));
    pids.add(pid);
  }

  /** Its exit was seen. */
  remove(service: string, pid: number): void {
    const pids = this.byService.get(service);
    if (!pids) return;
    pids.delete(pid);
    if (pids.size === 0) this.byService.delete(service);
  }

  /** True while a process the agent started for `service` runs under its name, as far as exit events say. */
  running(service: string): boolean {
    return this.byService.has(service);
  }

  /** The pids of such processes (for a check's record). */
  pids(service: string): number[] {
    return [...(this.byService.get(service) ?? [])];
  }
}
