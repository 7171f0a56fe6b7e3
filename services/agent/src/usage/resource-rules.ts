import type { ResourceRules } from '@smgr/shared';
import type { UsageSample } from './resource-sampler.js';

/** The rules of `[process.NAME]`: max_memory, max_cpu, max_open_files, max_children. */
export type ResourceRuleName = 'memory' | 'cpu' | 'open_files' | 'children';

/**
 * What one sample changed about a rule: `over` (above the limit, `count` of
 * `checks` so far), `reset` (back at or below it after `count` samples over,
 * before the action), `exceeded` (the action is due) or `cleared`.
 */
export type RuleVerdict =
  | { kind: 'exceeded' | 'cleared'; rule: ResourceRuleName; value: number; limit: number; checks: number }
  | { kind: 'over' | 'reset'; rule: ResourceRuleName; value: number; limit: number; checks: number; count: number };

/** The config key of each rule, for messages. */
export const RULE_KEYS: Readonly<Record<ResourceRuleName, string>> = {
  memory: 'max_memory',
  cpu: 'max_cpu',
  open_files: 'max_open_files',
  children: 'max_children',
};

/** The limit of each rule (0: none) and the value a sample gives it (undefined: unknown this time). */
function measures(rules: ResourceRules, s: UsageSample): [ResourceRuleName, number, number | undefined][] {
  return [
    ['memory', rules.maxMemoryBytes, s.rssBytes],
    ['cpu', rules.maxCpuPercent, s.cpuPercent],
    ['open_files', rules.maxOpenFiles, s.openFiles],
    ['children', rules.maxChildren, Math.max(0, s.processes - 1)],
  ];
}

/**
 * Per rule:  ok(over = n) ──value > limit, n + 1 = checks──► exceeded (acts once)
 *              ▲  value <= limit: n = 0                         │
 *              └── value < limit × (1 − margin) for clear_checks samples in a row (cleared)
 */
interface RuleState {
  over: number;
  exceeded: boolean;
  under: number;
}

/**
 * Monit-style resource rules as a pure state machine fed samples: a rule
 * acts when its value is above the limit for `checks` samples in a row (a
 * spike shorter than that resets the count) and then stays exceeded, acting
 * no more, until the value has been below the limit less
 * `clearMarginPercent` for `clearChecks` samples in a row: a service
 * hovering at its limit does not flap.
 *
 * What resets a count: a sample at or below the limit; the service not
 * running; a new main process (a restart by anyone: the new one starts
 * counting from zero). An exceeded rule ends only by clearing (a restart
 * that brings the value down clears it after clear_checks samples), so a
 * service that exceeds again at once is not restarted in a loop.
 */
export class ResourceRuleBook {
  private readonly states = new Map<string, RuleState>();
  private readonly mains = new Map<string, number>();

  /** Feeds one sample of a service; returns what changed (at most one verdict per rule). */
  evaluate(rules: ResourceRules, sample: UsageSample): RuleVerdict[] {
    const verdicts: RuleVerdict[] = [];
    const newMain = this.mains.get(sample.service) !== sample.mainPid;
    this.mains.set(sample.service, sample.mainPid);
    for (const [rule, limit, value] of measures(rules, sample)) {
      if (limit <= 0) continue;
      const key = `${sample.service}\0${rule}`;
      let st = this.states.get(key);
      if (!st) this.states.set(key, (st = { over: 0, exceeded: false, under: 0 }));
      if (!sample.running || newMain) st.over = 0;
      if (!sample.running || value === undefined) continue;
      if (!st.exceeded) {
        const before = st.over;
        st.over = value > limit ? st.over + 1 : 0;
        if (st.over >= rules.checks) {
          Object.assign(st, { over: 0, exceeded: true, under: 0 });
          verdicts.push({ kind: 'exceeded', rule, value, limit, checks: rules.checks });
        } else if (st.over > 0) {
          verdicts.push({ kind: 'over', rule, value, limit, checks: rules.checks, count: st.over });
        } else if (before > 0) {
          verdicts.push({ kind: 'reset', rule, value, limit, checks: rules.checks, count: before });
        }
      } else {
        st.under = value < limit * (1 - rules.clearMarginPercent / 100) ? st.under + 1 : 0;
        if (st.under >= rules.clearChecks) {
          Object.assign(st, { over: 0, exceeded: false, under: 0 });
          verdicts.push({ kind: 'cleared', rule, value, limit, checks: rules.clearChecks });
        }
      }
    }
    return verdicts;
  }

  /** Consecutive samples over the limit so far (0 once exceeded). */
  overCount(service: string, rule: ResourceRuleName): number {
    return this.states.get(`${service}\0${rule}`)?.over ?? 0;
  }

  isExceeded(service: string, rule: ResourceRuleName): boolean {
    return this.states.get(`${service}\0${rule}`)?.exceeded ?? false;
  }
}

/** True when a process has any resource rule. */
export function hasRules(r: ResourceRules): boolean {
  return r.maxMemoryBytes > 0 || r.maxCpuPercent > 0 || r.maxOpenFiles > 0 || r.maxChildren > 0;
}
