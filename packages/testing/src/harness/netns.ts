/**
 * Network namespaces for multi-host tests (packages/testing/README.md): one bridge
 * namespace holding a Linux bridge, and one namespace per host joined to it
 * by a veth pair, on a private /24 the machine itself does not route.
 *
 *   root ns (test process, MariaDB, Redis on loopback + UNIX sockets)
 *   smgr-<id>-br:   br0 ── v1 ─┐   v2 ─┐ ...
 *   smgr-<id>-h1:       eth0 ──┘       │       10.2xx.y.1
 *   smgr-<id>-h2:              eth0 ───┘       10.2xx.y.2
 *
 * Traffic between hosts stays inside the namespaces. The test process never
 * connects to a namespace address; daemons inside reach MariaDB and Redis
 * over their UNIX sockets (files are shared across network namespaces).
 *
 * Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and `ip` from iproute2.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Cleanup } from './cleanup.js';
import { ManagedProcess, type ManagedProcessOptions } from './managed-process.js';
import { trackNetns, untrackNetns } from './safety-net.js';

const run = promisify(execFile);

/** A host of a NetLab: its own network namespace with one interface on the lab's bridge. */
export interface NetHost {
  /** The short name given to addHost ("h1"). */
  readonly name: string;
  /** The namespace name, unique per run: `smgr-<id>-<name>`. */
  readonly ns: string;
  /** `/run/netns/<ns>`: for `nsenter --net=`, `systemd-nspawn --network-namespace-path=`. */
  readonly nsPath: string;
  /** The host's IPv4 address on the lab subnet (interface `eth0`). */
  readonly address: string;
  /** Takes the host's veth end in the bridge namespace down: the host is cut off, its own eth0 stays configured. */
  linkDown(): Promise<void>;
  /** Brings the link back up. */
  linkUp(): Promise<void>;
  /**
   * Starts `cmd args` inside the namespace (`ip netns exec`, which execs, so
   * the ManagedProcess PID is the command's own). Stopped by lab.stop() too.
   */
  spawn(cmd: string, args: string[], opts: ManagedProcessOptions): ManagedProcess;
  /** Runs a short command inside the namespace and resolves with its output; rejects on a non-zero exit. */
  exec(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }>;
}

/** A bridge and the hosts on it. */
export interface NetLab {
  /** Prefix of every namespace of this lab: `smgr-<id>`. */
  readonly id: string;
  /** The bridge namespace's name (`smgr-<id>-br`). */
  readonly bridgeNs: string;
  /** `10.2xx.y.0/24`. */
  readonly subnet: string;
  /** Adds a namespace on the bridge; names are `[a-z0-9]` and `-`, at most 12 characters. */
  addHost(name: string): Promise<NetHost>;
  readonly hosts: readonly NetHost[];
  /**
   * Stops every process spawned through the lab, then deletes every namespace
   * (which removes the veth pairs and the bridge with them). Runs every step
   * even when one fails; idempotent.
   */
  stop(): Promise<void>;
}

const HOST_NAME = /^[a-z0-9][a-z0-9-]{0,11}$/;
const MAX_HOSTS = 250;

/**
 * Creates a lab: the bridge namespace and its bridge. Register `lab.stop()`
 * with the test's Cleanup right away (or pass the Cleanup); the safety net
 * deletes the namespaces if the test process exits without it.
 *
 * With `cleanup`, `lab.stop()` is registered there at once:
 *
 * ```ts
 * const lab = await createNetLab('cutoff', cleanup);
 * const h0 = await lab.addHost('ctl');
 * const h1 = await lab.addHost('h1');
 * const ctl = h0.spawn(process.execPath, [CONTROLLER_MAIN, '--config', cfg], { name: 'controller' });
 * await h1.linkDown();   // h1 is cut off mid-job
 * ```
 */
export async function createNetLab(label: string, cleanup?: Cleanup): Promise<NetLab> {
  const id = `smgr-${randomBytes(4).toString('hex')}`;
  const subnet = await pickSubnet();
  const lab = new Lab(id, subnet, label);
  try {
    await lab.init();
  } catch (err) {
    await lab.stop().catch(() => undefined);
    throw err;
  }
  cleanup?.add(() => lab.stop(), `net lab ${label}`);
  return lab;
}

class Lab implements NetLab {
  readonly bridgeNs: string;
  readonly #hosts: Host[] = [];
  readonly #namespaces: string[] = [];
  readonly #procs: ManagedProcess[] = [];
  #stopped = false;

  constructor(
    readonly id: string,
    readonly subnet: string,
    readonly label: string,
  ) {
    this.bridgeNs = `${id}-br`;
  }

  get hosts(): readonly NetHost[] {
    return this.#hosts;
  }

  async init(): Promise<void> {
    await this.#addNamespace(this.bridgeNs);
    await ip('-n', this.bridgeNs, 'link', 'set', 'lo', 'up');
    await ip('-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', this.bridgeNs, 'link', 'set', 'br0', 'up');
  }

  async addHost(name: string): Promise<NetHost> {
    if (this.#stopped) throw new Error('addHost() after stop()');
    if (!HOST_NAME.test(name)) throw new Error(`host name ${JSON.stringify(name)} must match ${HOST_NAME}`);
    if (this.#hosts.some((h) => h.name === name)) throw new Error(`host ${name} already exists in lab ${this.id}`);
    if (this.#hosts.length >= MAX_HOSTS) throw new Error(`a lab holds at most ${MAX_HOSTS} hosts`);
    const index = this.#hosts.length + 1;
    const ns = `${this.id}-${name}`;
    const peer = `v${index}`;
    const address = this.subnet.replace(/0\/24$/, String(index));
    await this.#addNamespace(ns);
    // Made inside the bridge namespace and moved, so no name ever exists in the root namespace.
    await ip('-n', this.bridgeNs, 'link', 'add', peer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await ip('-n', this.bridgeNs, 'link', 'set', peer, 'master', 'br0');
    await ip('-n', this.bridgeNs, 'link', 'set', peer, 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    await ip('-n', ns, 'link', 'set', 'eth0', 'up');
    const host = new Host(name, ns, address, peer, this.bridgeNs, (p) => this.#procs.push(p));
    this.#hosts.push(host);
    return host;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const errors: unknown[] = [];
    for (const p of this.#procs.reverse()) {
      try {
        await p.stop('SIGTERM', 5_000);
      } catch (err) {
        errors.push(err);
      }
    }
    // Hosts first, the bridge last: deleting a namespace deletes its veth end and with it the pair.
    for (const ns of [...this.#namespaces].reverse()) {
      try {
        await ip('netns', 'del', ns);
        untrackNetns(ns);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `lab ${this.id} (${this.label}): ${errors.length} cleanup steps failed`);
  }

  async #addNamespace(ns: string): Promise<void> {
    // Tracked before it exists: the safety net's `ip netns del` of a name that is not there is harmless.
    trackNetns(ns);
    await ip('netns', 'add', ns);
    this.#namespaces.push(ns);
  }
}

class Host implements NetHost {
  readonly nsPath: string;

  constructor(
    readonly name: string,
    readonly ns: string,
    readonly address: string,
    private readonly peer: string,
    private readonly bridgeNs: string,
    private readonly track: (p: ManagedProcess) => void,
  ) {
    this.nsPath = `/run/netns/${ns}`;
  }

  async linkDown(): Promise<void> {
    await ip('-n', this.bridgeNs, 'link', 'set', this.peer, 'down');
  }

  async linkUp(): Promise<void> {
    await ip('-n', this.bridgeNs, 'link', 'set', this.peer, 'up');
  }

  spawn(cmd: string, args: string[], opts: ManagedProcessOptions): ManagedProcess {
    const p = ManagedProcess.start('ip', ['netns', 'exec', this.ns, cmd, ...args], opts);
    this.track(p);
    return p;
  }

  async exec(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('ip', ['netns', 'exec', this.ns, cmd, ...args], { timeout: 10_000 });
  }
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args, { timeout: 10_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`, { cause: err });
  }
}

/**
 * A random 10.200-255.y.0/24 that no route or address of the root namespace
 * covers, so a lab can never be confused with a network the machine uses.
 */
async function pickSubnet(): Promise<string> {
  const { stdout } = await run('ip', ['-4', '-o', 'route', 'show', 'table', 'all'], { timeout: 10_000 });
  const { stdout: addrs } = await run('ip', ['-4', '-o', 'addr', 'show'], { timeout: 10_000 });
  const taken = `${stdout}\n${addrs}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    const b = 200 + Math.floor(Math.random() * 56);
    const c = Math.floor(Math.random() * 256);
    const prefix = `10.${b}.${c}.`;
    if (!taken.includes(prefix) && !routesCover(taken, b, c)) return `${prefix}0/24`;
  }
  throw new Error('no free 10.2xx.y.0/24 subnet found for a test lab');
}

/** True when a route like 10.0.0.0/8 or 10.200.0.0/16 in `routes` contains 10.b.c.0/24. */
function routesCover(routes: string, b: number, c: number): boolean {
  for (const m of routes.matchAll(/\b10\.(\d+)\.(\d+)\.(\d+)\/(\d+)/g)) {
    const len = Number(m[4]);
    const net = (10 << 24) | (Number(m[1]) << 16) | (Number(m[2]) << 8) | Number(m[3]);
    const ours = (10 << 24) | (b << 16) | (c << 8);
    const mask = len === 0 ? 0 : (~0 << (32 - Math.min(len, 24))) >>> 0;
    if (len <= 24 && (net & mask) >>> 0 === (ours & mask) >>> 0) return true;
  }
  return false;
}
