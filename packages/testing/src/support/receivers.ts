/**
 * Real notification receivers on loopback for tests: an HTTP server that
 * checks smgr's webhook signature the way a receiver should (HMAC-SHA256 over
 * "TIMESTAMP.BODY", a fresh timestamp, each delivery id once), and Debian's
 * aiosmtpd as an SMTP server whose printed mails are parsed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { freePort, ManagedProcess, waitFor, type Cleanup } from '../harness/index.js';

export interface Delivery {
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
  /** Signature and timestamp checked; false: refused with 401. */
  verified: boolean;
  /** The answer the server gave. */
  status: number;
}

/** How the server answers a path: fail the first N requests with `status`, then 200. */
export interface PathBehaviour {
  failFirst?: number;
  failStatus?: number;
  /** The HMAC secret of signed (webhook) paths; absent: not checked (Slack). */
  secret?: string;
}

const MAX_SKEW_S = 300;

export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  private readonly counts = new Map<string, number>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly paths: Record<string, PathBehaviour>,
  ) {}

  static async start(cleanup: Cleanup, paths: Record<string, PathBehaviour>): Promise<WebhookReceiver> {
    let self: WebhookReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const { status, delivery } = self!.handle(req, Buffer.concat(chunks).toString('utf8'));
        self!.deliveries.push({ ...delivery, status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as { port: number }).port;
    cleanup.add(() => new Promise<void>((done) => server.close(() => done())), 'webhook receiver');
    self = new WebhookReceiver(server, `http://127.0.0.1:${port}`, paths);
    return self;
  }

  private handle(req: IncomingMessage, text: string): { status: number; delivery: Omit<Delivery, 'status'> } {
    const path = req.url ?? '/';
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // kept as text
    }
    const b = this.paths[path] ?? {};
    let verified = true;
    if (b.secret !== undefined) {
      const ts = String(req.headers['x-smgr-timestamp'] ?? '');
      const sig = String(req.headers['x-smgr-signature'] ?? '');
      const want = `sha256=${createHmac('sha256', b.secret).update(`${ts}.${text}`).digest('hex')}`;
      const fresh = /^\d+$/.test(ts) && Math.abs(Date.now() / 1000 - Number(ts)) <= MAX_SKEW_S;
      verified = fresh && sig.length === want.length && timingSafeEqual(Buffer.from(sig), Buffer.from(want));
    }
    const delivery = { path, headers: req.headers, body, verified };
    if (!verified) return { status: 401, delivery };
    const n = (this.counts.get(path) ?? 0) + 1;
    this.counts.set(path, n);
    if (n <= (b.failFirst ?? 0)) return { status: b.failStatus ?? 500, delivery };
    return { status: 200, delivery };
  }

  /** Deliveries to `path` the server accepted (200). */
  accepted(path: string): Delivery[] {
    return this.deliveries.filter((d) => d.path === path && d.status === 200);
  }
}

export interface Mail {
  headers: Record<string, string>;
  body: string;
}

/** `python3 -m aiosmtpd` (Debian's python3-aiosmtpd) on a free loopback port, printing every mail it gets. */
export class SmtpReceiver {
  private constructor(
    private readonly proc: ManagedProcess,
    readonly port: number,
  ) {}

  static async start(cleanup: Cleanup, extraArgs: string[] = []): Promise<SmtpReceiver> {
    const port = await freePort();
    const proc = ManagedProcess.start('/usr/bin/python3', ['-u', '-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, ...extraArgs], { name: 'aiosmtpd' });
    return SmtpReceiver.ready(cleanup, proc, port);
  }

  /**
   * aiosmtpd (aiosmtpd-tls.py) that requires STARTTLS with `cert`/`key` and
   * AUTH as `user`/`password` before it takes a mail; it prints
   * "AUTH <mechanism> accepted|refused" for every attempt.
   */
  static async startTls(cleanup: Cleanup, opts: { cert: string; key: string; user: string; password: string }): Promise<SmtpReceiver> {
    const port = await freePort();
    const script = join(import.meta.dirname, 'aiosmtpd-tls.py');
    const proc = ManagedProcess.start(
      '/usr/bin/python3',
      ['-u', script, '--listen', `127.0.0.1:${port}`, '--cert', opts.cert, '--key', opts.key, '--user', opts.user],
      { name: 'aiosmtpd-tls', env: { SMTP_TEST_PASSWORD: opts.password } },
    );
    return SmtpReceiver.ready(cleanup, proc, port);
  }

  private static async ready(cleanup: Cleanup, proc: ManagedProcess, port: number): Promise<SmtpReceiver> {
    cleanup.add(() => proc.stop(), 'aiosmtpd');
    const net = await import('node:net');
    await waitFor(
      () =>
        new Promise<boolean>((done) => {
          const s = net.connect(port, '127.0.0.1', () => {
            s.destroy();
            done(true);
          });
          s.on('error', () => done(false));
        }),
      { timeoutMs: 15_000, intervalMs: 100, message: 'aiosmtpd listening', context: () => proc.tail() },
    );
    return new SmtpReceiver(proc, port);
  }

  /** Every mail printed so far. */
  mails(): Mail[] {
    const out: Mail[] = [];
    let cur: string[] | null = null;
    for (const line of this.proc.lines()) {
      if (line.startsWith('---------- MESSAGE FOLLOWS')) cur = [];
      else if (line.startsWith('------------ END MESSAGE')) {
        if (cur) {
          const blank = cur.indexOf('');
          const head = blank < 0 ? cur : cur.slice(0, blank);
          const headers: Record<string, string> = {};
          for (const h of head) {
            const i = h.indexOf(':');
            if (i > 0) headers[h.slice(0, i).toLowerCase()] = h.slice(i + 1).trim();
          }
          out.push({ headers, body: blank < 0 ? '' : cur.slice(blank + 1).join('\n') });
        }
        cur = null;
      } else cur?.push(line);
    }
    return out;
  }

  tail(): string {
    return this.proc.tail();
  }

  /** Every line the server printed (AUTH attempts, mails). */
  lines(): readonly string[] {
    return this.proc.lines();
  }
}
