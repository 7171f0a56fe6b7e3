import { randomUUID } from 'node:crypto';
import { AgentEventKind, AgentEventSchema, create, type AgentEvent, type LogRuleConfig, type Logger } from '@smgr/shared';
import { FileFollower, type FollowerStats } from './file-follower.js';
import { RuleMatcher, type RuleTrigger } from './rule-matcher.js';

export interface LogWatchOptions {
  rules: readonly LogRuleConfig[];
  /** Hands an event to the agent's outbox (delivered to the controller, exactly once). */
  publish: (event: AgentEvent) => void;
  /** Between polls of each file; default 250 ms. */
  pollMs?: number;
  log: Logger;
  now?: () => number;
}

/** Event kinds: a rule with on_match = event sends log_match; on_match = alarm sends watch_failed (the controller raises the alarm). */

/**
 * The agent's log-pattern rules ([log_rule.NAME]): one FileFollower per file
 * (shared by the rules that read it), every line fed to those rules'
 * matchers, and an event per trigger. Polls are serial per file, so a slow
 * read never piles up.
 *
 *   created ──start()──► following ──stop()──► stopped
 */
export class LogWatch {
  private readonly followers = new Map<string, { follower: FileFollower; matchers: RuleMatcher[] }>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly opts: LogWatchOptions) {
    this.log = opts.log.child({ component: 'logwatch' });
    this.now = opts.now ?? Date.now;
    for (const rule of opts.rules) {
      const matcher = new RuleMatcher(rule);
      for (const file of rule.files) {
        let entry = this.followers.get(file);
        if (!entry) {
          const matchers: RuleMatcher[] = [];
          const follower = new FileFollower({
            path: file,
            onLine: (line) => this.onLine(file, matchers, line),
            // A line no rule of this file could match is never decoded.
            wants: (buf, start, end, seq) => mayAnyMatch(matchers, buf, start, end, seq),
            log: this.log,
          });
          entry = { follower, matchers };
          this.followers.set(file, entry);
        }
        entry.matchers.push(matcher);
      }
    }
  }

  start(): void {
    if (this.timer || this.followers.size === 0) return;
    const every = this.opts.pollMs ?? 250;
    let first = true;
    const loop = () => {
      this.polling = this.pollAll()
        .then(() => {
          // After the first poll: from here on, every line written is seen.
          if (first) this.log.info({ rules: this.opts.rules.map((r) => r.name), files: [...this.followers.keys()] }, 'log rules following their files');
          first = false;
        })
        .finally(() => {
          this.polling = null;
          if (this.timer) this.timer = setTimeout(loop, every);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.polling;
    await Promise.all([...this.followers.values()].map((e) => e.follower.close()));
  }

  /** One poll of every file (tests and the bench drive it directly). */
  async pollAll(): Promise<void> {
    for (const { follower } of this.followers.values()) await follower.poll();
  }

  stats(): Record<string, FollowerStats> {
    return Object.fromEntries([...this.followers].map(([file, e]) => [file, { ...e.follower.stats }]));
  }

  private onLine(file: string, matchers: readonly RuleMatcher[], line: string): void {
    const now = this.now();
    for (const m of matchers) {
      const t = m.feed(file, line, now);
      if (t) this.trigger(t);
    }
  }

  private trigger(t: RuleTrigger): void {
    const r = t.rule;
    const alarm = r.onMatch === 'alarm';
    const message = `log rule ${r.name}: ${t.matches} line(s) matching in ${Math.round(r.windowMs / 100) / 10} s in ${t.file}: ${t.line}`;
    this.log.warn(
      { rule: r.name, service: r.process, file: t.file, matches: t.matches, action: r.onMatch },
      alarm ? 'log rule raises the alarm' : 'log rule matched',
    );
    this.opts.publish(
      create(AgentEventSchema, {
        eventId: `${alarm ? 'log-alarm' : 'log-match'}-${randomUUID()}`,
        kind: alarm ? AgentEventKind.WATCH_FAILED : AgentEventKind.LOG_MATCH,
        service: r.process,
        atMs: BigInt(this.now()),
        message: message.slice(0, 1000),
        failures: t.matches,
        severity: r.severity,
        rule: r.name,
      }),
    );
  }
}

/** Whether any of the rules may match the line (a loop: no closure per line). */
function mayAnyMatch(matchers: readonly RuleMatcher[], buf: Buffer, start: number, end: number, seq: number): boolean {
  for (const m of matchers) if (m.mayMatch(buf, start, end, seq)) return true;
  return false;
}
