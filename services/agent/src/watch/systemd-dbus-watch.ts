import { DBusError, Message, MessageType, sessionBus, type MessageBus } from 'dbus-next';
import type { Logger } from '@smgr/shared';
import { jitteredBackoff } from '../link/backoff.js';
import { parseUnitStateChange, type UnitStateChange, type UnitWatchTarget } from './systemd-units.js';

/** The system bus, unless DBUS_SYSTEM_BUS_ADDRESS says otherwise (as libdbus and sd-bus read it). */
export const DEFAULT_SYSTEM_BUS = 'unix:path=/run/dbus/system_bus_socket';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const UNIT = 'org.freedesktop.systemd1.Unit';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const DBUS = 'org.freedesktop.DBus';

/** A reply systemd or the bus does not give within this is a broken connection. */
const CALL_TIMEOUT_MS = 5_000;
const RECONNECT_BASE_MS = 1_000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 60_000;

/** A watched unit went down (or is going down). */
export interface UnitDown extends UnitStateChange {
  service: string;
  unit: string;
}

export interface SystemdDbusWatchOptions {
  targets: readonly UnitWatchTarget[];
  /** Called for every state change of a watched unit to failed, inactive or deactivating. */
  onDown: (e: UnitDown) => void;
  log: Logger;
  /** D-Bus address; default DBUS_SYSTEM_BUS_ADDRESS, else DEFAULT_SYSTEM_BUS. */
  busAddress?: string;
  /** Longest wait between reconnection attempts; default 60 s. */
  reconnectMaxDelayMs?: number;
  callTimeoutMs?: number;
  random?: () => number;
}

/**
 * The state of the watch:
 *
 *   idle ─start─► connecting ─subscribed─► subscribed
 *                  ▲      │ failed            │ connection lost, systemd
 *                  │      ▼                   │ restarted (new bus name)
 *                  └──── waiting ◄────────────┘
 *   any ─stop─► stopped
 *
 * While not `subscribed` the units are watched by polling alone (the
 * watcher's rounds at watch_interval run in every state).
 */
export type DbusWatchState = 'idle' | 'connecting' | 'subscribed' | 'waiting' | 'stopped';

/**
 * Event-driven detection of systemd units: one connection to the system bus,
 * `Subscribe()` to the manager (systemd sends unit signals only while some
 * client is subscribed), and one match rule per watched unit, for the
 * `PropertiesChanged` signals of that unit's object from systemd's own bus
 * name. A change of ActiveState to failed, inactive or deactivating calls
 * `onDown` at once; the agent then runs the same watch check as its rounds
 * do, so what is reported and repaired is decided in one place.
 *
 * Polling stays the fallback: when the bus is absent or the subscription
 * fails, it says so once (warn) and retries with jittered backoff up to
 * reconnectMaxDelayMs, quietly. Signals of other objects, other interfaces
 * or other senders are ignored, and a check runs at most once at a time per
 * service (ServiceWatcher), so a flood of signals costs no more than one
 * check per service in flight.
 */
export class SystemdDbusWatch {
  private bus: MessageBus | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private warned = false;
  private current: DbusWatchState = 'idle';
  /** Unit object path → target, for the units subscribed on the current connection. */
  private byPath = new Map<string, UnitWatchTarget>();
  /** systemd's unique bus name on the current connection: signals from anyone else are ignored. */
  private systemdName = '';
  private readonly log: Logger;
  private readonly address: string;

  constructor(private readonly opts: SystemdDbusWatchOptions) {
    this.log = opts.log.child({ component: 'dbus-watch' });
    this.address = opts.busAddress ?? process.env.DBUS_SYSTEM_BUS_ADDRESS ?? DEFAULT_SYSTEM_BUS;
  }

  get state(): DbusWatchState {
    return this.current;
  }

  /** Units subscribed on the current connection. */
  subscribedUnits(): string[] {
    return [...this.byPath.values()].map((t) => t.unit);
  }

  start(): void {
    if (this.current !== 'idle' || this.opts.targets.length === 0) return;
    void this.connect();
  }

  stop(): void {
    this.current = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.drop();
  }

  private async connect(): Promise<void> {
    if (this.current === 'stopped') return;
    this.current = 'connecting';
    let bus: MessageBus;
    try {
      bus = sessionBus({ busAddress: this.address });
    } catch (err) {
      this.failed(err);
      return;
    }
    this.bus = bus;
    const lost = (why: unknown) => {
      if (this.bus !== bus) return;
      this.drop();
      if (this.current === 'subscribed') {
        this.log.warn({ address: this.address, err: errText(why) }, 'lost the D-Bus connection to systemd; watching units by polling until it is back');
        this.attempt = 0;
        this.current = 'waiting';
        this.retry();
      } else {
        this.failed(why);
      }
    };
    bus.on('error', lost);
    // dbus-next (0.10.2, pinned) does not forward the end of its socket; without this a dbus-daemon restart would go unnoticed.
    socketOf(bus)?.once('close', () => lost(new Error('the bus closed the connection')));
    bus.on('message', (msg: Message) => this.onMessage(bus, msg));
    try {
      await this.withTimeout(
        new Promise<void>((resolve, reject) => {
          bus.once('connect', () => resolve());
          bus.once('error', reject);
        }),
        'connecting to the bus',
      );
      await this.subscribe(bus);
    } catch (err) {
      lost(err);
      return;
    }
    // stop() may have run while subscribing.
    if (this.bus !== bus || (this.current as DbusWatchState) === 'stopped') return;
    this.current = 'subscribed';
    this.attempt = 0;
    this.warned = false;
    const skipped = this.opts.targets.filter((t) => !this.subscribedUnits().includes(t.unit)).map((t) => t.unit);
    this.log.info({ address: this.address, units: this.subscribedUnits(), notLoaded: skipped }, 'watching systemd units over D-Bus (PropertiesChanged)');
  }

  private async subscribe(bus: MessageBus): Promise<void> {
    const manager = await this.call(bus, MANAGER_PATH, MANAGER, 'Subscribe');
    this.systemdName = manager.sender;
    // A restarted systemd (daemon-reexec) gets a new bus name and forgets this client: start over then.
    await this.addMatch(bus, `type='signal',sender='${DBUS}',interface='${DBUS}',member='NameOwnerChanged',arg0='${SYSTEMD}'`);
    const byPath = new Map<string, UnitWatchTarget>();
    for (const t of this.opts.targets) {
      let reply: Message;
      try {
        reply = await this.call(bus, MANAGER_PATH, MANAGER, 'LoadUnit', 's', [t.unit]);
      } catch (err) {
        // systemd refused this one name (its own unit-name rules are stricter than ours): the others are still followed.
        if (!(err instanceof DBusError)) throw err;
        this.log.warn({ service: t.service, unit: t.unit, err: errText(err) }, 'systemd refused the unit name; watching it by polling only');
        continue;
      }
      const path: unknown = reply.body[0];
      if (typeof path !== 'string' || !path.startsWith('/org/freedesktop/systemd1/unit/'))
        throw new Error(`systemd answered LoadUnit(${t.unit}) with no unit path`);
      if (t.onlyIfLoaded) {
        const load = await this.call(bus, path, PROPERTIES, 'Get', 'ss', [UNIT, 'LoadState']);
        const v = load.body[0] as { value?: unknown } | undefined;
        if (v?.value !== 'loaded') continue;
      }
      await this.addMatch(bus, `type='signal',sender='${SYSTEMD}',path='${path}',interface='${PROPERTIES}',member='PropertiesChanged',arg0='${UNIT}'`);
      byPath.set(path, t);
    }
    this.byPath = byPath;
  }

  private onMessage(bus: MessageBus, msg: Message): void {
    if (bus !== this.bus || msg.type !== MessageType.SIGNAL) return;
    if (msg.sender === DBUS && msg.interface === DBUS && msg.member === 'NameOwnerChanged') {
      if (msg.body[0] === SYSTEMD && msg.body[2] !== this.systemdName && this.current === 'subscribed') {
        this.log.info({ owner: msg.body[2] }, 'systemd changed its bus name (re-executed); subscribing again');
        bus.emit('error', new Error('systemd re-executed'));
      }
      return;
    }
    if (msg.sender !== this.systemdName || msg.interface !== PROPERTIES || msg.member !== 'PropertiesChanged') return;
    const target = this.byPath.get(msg.path);
    if (!target) return;
    const change = parseUnitStateChange(msg.body);
    if (!change) return;
    this.log.debug({ service: target.service, unit: target.unit, activeState: change.activeState, subState: change.subState }, 'unit state changed');
    if (change.down) this.opts.onDown({ service: target.service, unit: target.unit, ...change });
  }

  private failed(why: unknown): void {
    if (this.current === 'stopped') return;
    this.drop();
    if (!this.warned) {
      this.warned = true;
      this.log.warn(
        { address: this.address, err: errText(why), units: this.opts.targets.map((t) => t.unit) },
        'systemd units cannot be followed over D-Bus; watching them by polling every watch_interval (retrying D-Bus in the background)',
      );
    } else {
      this.log.debug({ address: this.address, err: errText(why), attempt: this.attempt }, 'D-Bus still unavailable');
    }
    this.current = 'waiting';
    this.retry();
  }

  private retry(): void {
    if (this.current === 'stopped') return;
    const max = this.opts.reconnectMaxDelayMs ?? RECONNECT_MAX_MS;
    const delay = Math.max(RECONNECT_MIN_MS, jitteredBackoff(this.attempt++, RECONNECT_BASE_MS, max, this.opts.random));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
    // Never what keeps the agent alive: the controller link does.
    this.timer.unref();
  }

  /** Closes the current connection, if any; its listeners go with it. */
  private drop(): void {
    const bus = this.bus;
    this.bus = null;
    this.byPath = new Map();
    this.systemdName = '';
    if (!bus) return;
    bus.removeAllListeners('message');
    // Errors of a connection being closed are of no interest any more, but must have a listener.
    bus.removeAllListeners('error');
    bus.on('error', () => undefined);
    try {
      bus.disconnect();
    } catch {
      // already closed
    }
    socketOf(bus)?.destroy();
  }

  private addMatch(bus: MessageBus, rule: string): Promise<Message> {
    return this.call(bus, '/org/freedesktop/DBus', DBUS, 'AddMatch', 's', [rule], DBUS);
  }

  private async call(
    bus: MessageBus,
    path: string,
    iface: string,
    member: string,
    signature = '',
    body: unknown[] = [],
    destination = SYSTEMD,
  ): Promise<Message> {
    const reply = await this.withTimeout(bus.call(new Message({ destination, path, interface: iface, member, signature, body })), `${iface}.${member}`);
    if (!reply) throw new Error(`${member}: no reply`);
    return reply;
  }

  private withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    const ms = this.opts.callTimeoutMs ?? CALL_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
        timer.unref();
      }),
    ]).finally(() => clearTimeout(timer));
  }
}

/** The socket under a dbus-next bus (a private field of the pinned version), for its close event. */
function socketOf(bus: MessageBus): (NodeJS.EventEmitter & { destroy(): void }) | undefined {
  const stream = (bus as unknown as { _connection?: { stream?: unknown } })._connection?.stream;
  return stream && typeof (stream as { destroy?: unknown }).destroy === 'function' ? (stream as NodeJS.EventEmitter & { destroy(): void }) : undefined;
}

function errText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}
