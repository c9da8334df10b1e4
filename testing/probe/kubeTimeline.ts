/**
 * Where the time of a real `pulumi up` onto the single-node Kubernetes cluster goes: the
 * Kubernetes counterpart of deployTimeline.ts (Docker). One timeline, in milliseconds since the
 * `up` started, from five sources recorded while it runs:
 * - Pulumi's own per-resource steps for the StatefulSets (`pulumi up --json`, stamped on arrival);
 * - the pods as the API server has them (`kubectl get pods --watch`, stamped on arrival): created,
 *   each condition's change (PodScheduled, Initialized, ContainersReady, Ready), each container's
 *   state (waiting, running, terminated), deletion requested, removed;
 * - the namespace's events (`kubectl get events --watch-only`, stamped on arrival): the
 *   StatefulSet controller's pod creations and deletions, the kubelet's container starts, probe
 *   failures, the preStop hook's;
 * - the containers' logs with the runtime's own nanosecond timestamps (the CRI log files the suite
 *   archives, so a deleted pod's lines are kept): the start script's decisions, the node's state
 *   machine, the hand-over;
 * - each Tile38 node's ready mark (`.tile38-ha-ready`, half of the readiness probe), polled on the
 *   host in its local volume's directory.
 * {@link describeKubeTimeline} turns it into the per-pod milestones and the waits between them.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { runCommand } from "../command";
import { engineEventTime, milestoneTables, PulumiEventLines, TimelineEvent } from "./deployTimeline";
import { sleep } from "./wait";

export interface KubeTimelineOptions {
    kubectl: string;
    kubeconfig: string;
    namespace: string;
    /** The Tile38 pods (ready marks are looked up for these), e.g. tile38-0 … tile38-2. */
    tile38: string[];
    /** The sentinel pods (their table rows). */
    sentinels: string[];
    /** The directory PodLogArchive keeps the CRI container logs in (`<ns>_<pod>_<uid>/<container>/N.log`). */
    podLogDir: string;
    /** Brings the archive up to date before the logs are read. */
    syncLogs?: () => void;
}

/** Splits a stream of concatenated (pretty-printed) JSON objects into objects. */
class JsonStream {
    private buf = "";
    private depth = 0;
    private inString = false;
    private escaped = false;
    private start = -1;

    constructor(private readonly onObject: (o: unknown) => void) {}

    push(chunk: string): void {
        const base = this.buf.length;
        this.buf += chunk;
        for (let i = base; i < this.buf.length; i++) {
            const c = this.buf[i];
            if (this.inString) {
                if (this.escaped) this.escaped = false;
                else if (c === "\\") this.escaped = true;
                else if (c === '"') this.inString = false;
                continue;
            }
            if (c === '"') this.inString = true;
            else if (c === "{") {
                if (this.depth === 0) this.start = i;
                this.depth++;
            } else if (c === "}") {
                this.depth--;
                if (this.depth === 0 && this.start >= 0) {
                    const text = this.buf.slice(this.start, i + 1);
                    try {
                        this.onObject(JSON.parse(text));
                    } catch {
                        /* not JSON after all */
                    }
                    this.buf = this.buf.slice(i + 1);
                    i = -1;
                    this.start = -1;
                }
            }
        }
        if (this.depth === 0) this.buf = "";
    }
}

interface PodObject {
    metadata: { name: string; uid: string; creationTimestamp?: string; deletionTimestamp?: string };
    status?: {
        conditions?: { type: string; status: string }[];
        containerStatuses?: { name: string; ready?: boolean; state?: { waiting?: { reason?: string }; running?: unknown; terminated?: { reason?: string; exitCode?: number } } }[];
        initContainerStatuses?: { name: string; state?: { waiting?: { reason?: string }; running?: unknown; terminated?: { reason?: string; exitCode?: number } } }[];
    };
}

interface EventObject {
    reason?: string;
    message?: string;
    count?: number;
    involvedObject?: { kind?: string; name?: string };
}

/** Records a timeline from just before a `pulumi up` until {@link stop}. */
export class KubeTimeline {
    readonly startedAt = Date.now();
    private readonly events: TimelineEvent[] = [];
    private readonly watches: { proc: ChildProcess; file: string; on: (o: unknown, at: number) => void }[] = [];
    /** Last seen facts per pod uid (conditions, containers, deletion). */
    private readonly seen = new Map<string, Map<string, string>>();
    private readonly markDirs = new Map<string, string>();
    /** Each pod's ready mark's mtime (undefined: absent). */
    private readonly marks = new Map<string, number | undefined>();
    private running = true;
    private readonly poll: Promise<void>;

    constructor(private readonly o: KubeTimelineOptions) {
        const base = ["--kubeconfig", o.kubeconfig, "-n", o.namespace];
        this.watch([...base, "get", "pods", "--watch", "--output-watch-events", "-o", "json"], (x, at) => this.podEvent(x as { type: string; object: PodObject }, at));
        this.watch([...base, "get", "events", "--watch-only", "-o", "json"], (x, at) => this.kubeEvent(x as EventObject, at));
        this.poll = this.run();
    }

    /**
     * `kubectl ARGS` under a stamping process of its own (a separate Node.js process, its own
     * event loop): each chunk of kubectl's output goes to a file with the time it arrived, as
     * `{"t": ms, "c": chunk}` lines. Stamped in this process instead, every event that arrived
     * while the test blocked its event loop (synchronous kubectl calls) got the time it ended
     * (seen: 5 s of a rolling change's pod events all stamped at once).
     */
    private watch(args: string[], on: (o: unknown, at: number) => void): void {
        const file = path.join(this.o.podLogDir, `..`, `timeline-${process.pid}-${this.watches.length}-${Date.now()}.jsonl`);
        const stamp = [
            'const { spawn } = require("child_process"); const fs = require("fs");',
            "const out = fs.openSync(process.argv[1], 'a');",
            "const k = spawn(process.argv[2], process.argv.slice(3), { stdio: ['ignore', 'pipe', 'ignore'] });",
            "k.stdout.setEncoding('utf8'); k.stdout.on('data', (c) => fs.writeSync(out, JSON.stringify({ t: Date.now(), c }) + '\\n'));",
            "const end = () => { k.kill('SIGTERM'); process.exit(0); }; process.on('SIGTERM', end); k.on('exit', () => process.exit(0));",
        ].join(" ");
        const p = spawn(process.execPath, ["-e", stamp, file, this.o.kubectl, ...args], { stdio: "ignore" });
        this.watches.push({ proc: p, file, on });
    }

    /** Replays what a stamping process recorded: each object at the time its last chunk arrived. */
    private replay(w: { file: string; on: (o: unknown, at: number) => void }): void {
        let at = 0;
        const s = new JsonStream((o) => w.on(o, at));
        let text = "";
        try {
            text = fs.readFileSync(w.file, "utf8");
        } catch {
            return;
        }
        for (const line of text.split("\n")) {
            if (!line) continue;
            try {
                const r = JSON.parse(line) as { t: number; c: string };
                at = r.t;
                s.push(r.c);
            } catch {
                /* a line cut short at the stop */
            }
        }
        fs.rmSync(w.file, { force: true });
    }

    private add(at: number, subject: string, source: TimelineEvent["source"], what: string): void {
        this.events.push({ t: at - this.startedAt, subject, source, what });
    }

    private podEvent(e: { type: string; object: PodObject }, now: number): void {
        const p = e.object;
        if (!p?.metadata?.uid) return;
        const name = p.metadata.name;
        let facts = this.seen.get(p.metadata.uid);
        // The watch lists the pods that exist first: their state then is no event (a pod created
        // before the recording, by its creationTimestamp, whole seconds).
        const listed = !facts && Date.parse(p.metadata.creationTimestamp ?? "") < this.startedAt - 1000;
        if (!facts) {
            facts = new Map();
            this.seen.set(p.metadata.uid, facts);
            if (!listed) this.add(now, name, "pod", `pod created (uid ${p.metadata.uid.slice(0, 8)})`);
        }
        const set = (key: string, value: string, what: string) => {
            if (facts!.get(key) === value) return;
            facts!.set(key, value);
            if (!listed) this.add(now, name, "pod", what);
        };
        for (const c of p.status?.conditions ?? []) set(`cond ${c.type}`, c.status, `${c.type} ${c.status}`);
        const state = (s: { waiting?: { reason?: string }; running?: unknown; terminated?: { reason?: string; exitCode?: number } } | undefined) =>
            s?.running ? "running" : s?.terminated ? `terminated (${s.terminated.reason ?? ""} ${s.terminated.exitCode ?? ""})` : s?.waiting ? `waiting (${s.waiting.reason ?? ""})` : "";
        for (const c of p.status?.initContainerStatuses ?? []) set(`init ${c.name}`, state(c.state), `init container ${c.name} ${state(c.state)}`);
        for (const c of p.status?.containerStatuses ?? []) set(`container ${c.name}`, state(c.state), `container ${c.name} ${state(c.state)}`);
        if (p.metadata.deletionTimestamp) set("deleting", "yes", "deletion requested");
        if (e.type === "DELETED") this.add(now, name, "pod", "pod removed");
    }

    private kubeEvent(e: EventObject, now: number): void {
        if (!e.reason || !e.involvedObject?.name) return;
        let subject = e.involvedObject.name;
        // The StatefulSet controller's events name the pod in their message.
        const m = /(?:create|delete) Pod (\S+) in StatefulSet/.exec(e.message ?? "");
        if (e.involvedObject.kind === "StatefulSet" && m) subject = m[1];
        this.add(now, subject, "event", `${e.reason}: ${(e.message ?? "").replace(/\s+/g, " ").slice(0, 200)}`);
    }

    private readonly engine = new PulumiEventLines();

    /** Pulumi's engine events as `pulumi up --json` prints them (pass its standard output, chunk by chunk, as it comes). */
    readonly pulumiOutput = (chunk: string): void => {
        const now = Date.now();
        for (const e of this.engine.push(chunk)) {
            const at = engineEventTime(e, now);
            if (e.kind === "prelude") this.add(at, "pulumi", "pulumi", "engine started (prelude)");
            else if (e.kind === "summary") this.add(at, "pulumi", "pulumi", "summary");
            else this.add(at, e.type === "kubernetes:apps/v1:StatefulSet" ? `statefulset ${e.name}` : `resource ${e.type} ${e.name}`, "pulumi", `${e.kind} ${e.op}`);
        }
    };

    private lookedUp = 0;

    private async run(): Promise<void> {
        while (this.running) {
            const now = Date.now();
            if (this.markDirs.size < this.o.tile38.length && now - this.lookedUp > 1000) {
                this.lookedUp = now;
                await this.findVolumes();
            }
            for (const [pod, dir] of this.markDirs) {
                // A mark made is stamped with its own mtime (the polling may be late, see watch).
                let made: number | undefined;
                try {
                    made = fs.statSync(path.join(dir, ".tile38-ha-ready")).mtimeMs;
                } catch {
                    made = undefined;
                }
                // By its mtime, a mark removed and made again between two polls is still seen.
                const last = this.marks.get(pod);
                if (made !== last) {
                    if (made === undefined) this.add(Date.now(), pod, "mark", "ready mark removed");
                    else this.add(Math.round(made), pod, "mark", "ready mark made");
                }
                this.marks.set(pod, made);
            }
            await sleep(100);
        }
    }

    /** Each Tile38 pod's local volume directory: its claim `data-<pod>` → the PV → `spec.local.path`. */
    private async findVolumes(): Promise<void> {
        const base = ["--kubeconfig", this.o.kubeconfig];
        for (const pod of this.o.tile38) {
            if (this.markDirs.has(pod)) continue;
            const pv = await runCommand(this.o.kubectl, [...base, "-n", this.o.namespace, "get", "pvc", `data-${pod}`, "-o", "jsonpath={.spec.volumeName}"], { timeoutMs: 10_000 });
            if (pv.code !== 0 || !pv.stdout.trim()) continue;
            const dir = await runCommand(this.o.kubectl, [...base, "get", "pv", pv.stdout.trim(), "-o", "jsonpath={.spec.local.path}"], { timeoutMs: 10_000 });
            if (dir.code === 0 && dir.stdout.trim()) this.markDirs.set(pod, dir.stdout.trim());
        }
    }

    /** Stops recording; reads the pods' archived container logs; the events in time order. */
    async stop(): Promise<TimelineEvent[]> {
        await sleep(1500);
        this.running = false;
        await this.poll;
        await Promise.all(
            this.watches.map(
                (w) =>
                    new Promise<void>((resolve) => {
                        if (w.proc.exitCode !== null || w.proc.signalCode !== null) return resolve();
                        const timer = setTimeout(() => (w.proc.kill("SIGKILL"), resolve()), 5000);
                        w.proc.once("exit", () => (clearTimeout(timer), resolve()));
                        w.proc.kill("SIGTERM");
                    }),
            ),
        );
        for (const w of this.watches) this.replay(w);
        this.o.syncLogs?.();
        this.readLogs();
        return this.events.sort((a, b) => a.t - b.t);
    }

    private readLogs(): void {
        const pods = new Set([...this.o.tile38, ...this.o.sentinels]);
        let dirs: string[] = [];
        try {
            dirs = fs.readdirSync(this.o.podLogDir);
        } catch {
            return;
        }
        for (const podDir of dirs) {
            const [ns, pod] = podDir.split("_");
            if (ns !== this.o.namespace || !pods.has(pod)) continue;
            const main = pod.replace(/-\d+$/, "").replace(/^.*-(tile38|sentinel)$/, "$1");
            const containerDir = path.join(this.o.podLogDir, podDir, main);
            if (!fs.existsSync(containerDir)) continue;
            for (const f of fs.readdirSync(containerDir)) {
                for (const line of fs.readFileSync(path.join(containerDir, f), "utf8").split("\n")) {
                    const m = /^(\S+) (?:stdout|stderr) \S (.*)$/.exec(line);
                    if (!m) continue;
                    const at = Date.parse(m[1]);
                    if (!(at >= this.startedAt - 1000)) continue;
                    const what = m[2].replace(/^\S+Z (tile38-ha|sentinel)\[[^\]]*\] /, "").replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d(\.\d+)? /, "server: ");
                    this.add(at, pod, "log", what);
                }
            }
        }
    }
}

/** A milestone of a pod's part in an `up`: the first event matching `match` at or after the previous milestone's. */
interface KubeMilestone {
    name: string;
    /**
     * Search from this earlier milestone's time instead of the previous one's: the pods' states
     * reach the API (the kubelet's relist, every 1 s) after what their containers logged meanwhile.
     */
    after?: string;
    match: (e: TimelineEvent, pod: string) => boolean;
    /** What the time since the previous milestone is spent on. */
    cause: string;
}

const pod = (what: RegExp) => (e: TimelineEvent) => e.source === "pod" && what.test(e.what);
const event = (what: RegExp) => (e: TimelineEvent) => e.source === "event" && what.test(e.what);
const log = (text: RegExp) => (e: TimelineEvent) => e.source === "log" && text.test(e.what);
/** The StatefulSet a pod belongs to: `tile38-2` → `tile38`, `geo-sentinel-0` → `geo-sentinel`. */
const setOf = (p: string) => p.replace(/-\d+$/, "");
const pulumi = (what: RegExp) => (e: TimelineEvent, p: string) =>
    e.source === "pulumi" && what.test(e.what) && (e.subject === `statefulset ${setOf(p)}` || (e.subject.startsWith("statefulset ") && e.subject.endsWith(`-${setOf(p).replace(/^.*-(tile38|sentinel)$/, "$1")}`)));

/** The milestones of one Tile38 pod in an `up` (those that did not happen are left out). */
export const KUBE_TILE38_MILESTONES: KubeMilestone[] = [
    { name: "Pulumi starts the StatefulSet's step", match: pulumi(/^step /), cause: "Pulumi: the program, the provider, the resources the StatefulSet waits for" },
    { name: "controller deletes the old pod", match: event(/^SuccessfulDelete/), cause: "StatefulSet controller: the rollout reaches this ordinal (the pods before it Ready)" },
    { name: "old tile38 container terminated", match: pod(/^container tile38 terminated/), cause: "preStop hook (a leader's hand-over), SIGTERM, tile38-server's exit" },
    { name: "old pod removed", match: pod(/^pod removed$/), cause: "the pod's other containers exit (backup agent), the kubelet's clean-up, the API's final delete" },
    { name: "new pod created", match: pod(/^pod created/), cause: "StatefulSet controller creates the pod again" },
    { name: "scheduled", match: pod(/^PodScheduled True/), cause: "scheduler (volume binding, WaitForFirstConsumer)" },
    { name: "initialized", match: pod(/^Initialized True/), cause: "sandbox, volumes, init containers" },
    { name: "tile38 container running", match: pod(/^container tile38 running/), cause: "container created and started (image local); seen by the kubelet's relist (1 s)" },
    { name: "start decision", after: "initialized", match: log(/^(starting as|empty data dir|no node holds data)/), cause: "start script: ask the sentinels who leads" },
    { name: "starts as follower or leader", match: log(/^starting as/), cause: "start script: an empty node's stale-INFO wait, a restore" },
    { name: "node state following / unconfirmed", match: log(/^state .* -> (following|unconfirmed)$/), cause: "tile38-server listening, first catch-up (a follower), node_life's step" },
    { name: "node state verified / leading", match: log(/^state .* -> (verified|leading)$/), cause: "AOF checked against the leader's (a follower); a majority of the sentinels confirm this incarnation (a leader)" },
    { name: "ready mark", match: (e) => e.source === "mark" && e.what === "ready mark made", cause: "a majority of the sentinels list the follower as promotable (priority > 0, a PING reply from this incarnation)" },
    { name: "pod Ready", match: pod(/^Ready True/), cause: "the startup probe (TCP) passes, then the readiness probe (exec, every 2 s) sees the ready mark" },
    { name: "Pulumi has the StatefulSet done", match: pulumi(/^done /), cause: "the rest of the rollout (later ordinals) and the provider's await" },
];

/** Per pod: each milestone's time and the wait before it. */
export function kubeMilestones(events: TimelineEvent[], p: string, milestones = KUBE_TILE38_MILESTONES): { name: string; t: number; waitMs: number; cause: string }[] {
    const found: { name: string; t: number; cause: string }[] = [];
    let from = -Infinity;
    for (const m of milestones) {
        const start = m.after ? (found.find((f) => f.name === m.after)?.t ?? from) : from;
        const e = events.find((x) => x.t >= start && (x.subject === p || x.source === "pulumi") && m.match(x, p));
        if (!e) continue;
        found.push({ name: m.name, t: e.t, cause: m.cause });
        from = m.after ? e.t : Math.max(from, e.t);
    }
    // In time order; each wait from the milestone before it.
    return found
        .map((f, i) => ({ ...f, i }))
        .sort((a, b) => a.t - b.t || a.i - b.i)
        .map((f, i, all) => ({ name: f.name, t: f.t, waitMs: i ? f.t - all[i - 1].t : f.t, cause: f.cause }));
}

/** The time of the last event of pod `p` matching `match` (ms), or undefined. */
export function lastOf(events: TimelineEvent[], p: string, match: (e: TimelineEvent) => boolean): number | undefined {
    const e = events.filter((x) => x.subject === p && match(x));
    return e.length ? e[e.length - 1].t : undefined;
}

/** ms from the `up`'s start until every listed pod's last `Ready True` (undefined if one never got there). */
export function allReadyMs(events: TimelineEvent[], pods: string[]): number | undefined {
    const ts = pods.map((p) => lastOf(events, p, (e) => e.source === "pod" && e.what === "Ready True"));
    return ts.every((t) => t !== undefined) ? Math.max(...(ts as number[])) : undefined;
}

/** The timeline as Markdown: per Tile38 pod the milestones and waits, every pod's main events, the probe failures, the pods' log lines. */
export function describeKubeTimeline(title: string, events: TimelineEvent[], o: { tile38: string[]; sentinels: string[] }, totalMs: number): string {
    const s = (ms: number | undefined) => (ms === undefined ? "" : (ms / 1000).toFixed(1));
    const changed = [...o.tile38, ...o.sentinels].filter((p) => lastOf(events, p, pod(/^pod created/)) !== undefined);
    const lines = [
        `### ${title}`,
        "",
        `\`pulumi up\` took ${s(totalMs)} s; every pod it (re)created (${changed.length}) Ready at ${s(allReadyMs(events, changed)) || "(not all)"} s. Times in seconds since it started; "wait" is the time since the pod's previous milestone.`,
        "",
    ];
    lines.push(...milestoneTables(o.tile38, (n) => kubeMilestones(events, n), (ms) => ms.find((m) => m.name !== "Pulumi starts the StatefulSet's step")?.t));
    const rows = [...o.tile38, ...o.sentinels].map((p) => {
        const at = (match: (e: TimelineEvent) => boolean) => s(lastOf(events, p, match));
        return `| ${p} | ${at(event(/^SuccessfulDelete/))} | ${at(pod(/^pod removed$/))} | ${at(pod(/^pod created/))} | ${at(pod(/^PodScheduled True/))} | ${at((e) => e.source === "pod" && /^container (tile38|sentinel) running/.test(e.what))} | ${at(pod(/^Ready True/))} |`;
    });
    lines.push("Every pod (the last of each event):", "", "| pod | controller deletes | removed | created | scheduled | main container running | Ready |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |", ...rows, "");
    const sts = events.filter((e) => e.source === "pulumi" && e.subject.startsWith("statefulset "));
    if (sts.length) lines.push("Pulumi's StatefulSet steps: " + sts.map((e) => `${e.subject.replace(/^statefulset /, "")} ${e.what} at ${s(e.t)} s`).join("; ") + ".", "");
    const engine = events.filter((e) => e.source === "pulumi" && !e.subject.startsWith("statefulset ") && !/ same$/.test(e.what));
    if (engine.length) {
        lines.push("<details><summary>Pulumi's other steps (resources left the same omitted)</summary>", "", "```");
        for (const e of engine) lines.push(`${s(e.t).padStart(6)} ${e.subject}  ${e.what}`);
        const same = events.filter((e) => e.source === "pulumi" && / same$/.test(e.what) && /^done/.test(e.what));
        if (same.length) lines.push(`${s(same[same.length - 1].t).padStart(6)} (the last of ${same.length} resources left the same)`);
        lines.push("```", "", "</details>", "");
    }
    const probes = events.filter((e) => e.source === "event" && /^(Unhealthy|FailedPreStopHook|Killing|BackOff)/.test(e.what));
    if (probes.length) {
        lines.push("<details><summary>probe failures, kills and hook failures (the kubelet's events)</summary>", "", "```");
        for (const e of probes) lines.push(`${s(e.t).padStart(6)} ${e.subject}  ${e.what.slice(0, 180)}`);
        lines.push("```", "", "</details>", "");
    }
    const notable = events.filter((e) => e.source === "log" && o.tile38.includes(e.subject) && !/^server: /.test(e.what) && !/^\S+ \[(INFO|DEBU)/.test(e.what) && !/^\s*$|_____|\|_/.test(e.what));
    lines.push("<details><summary>the Tile38 pods' own log lines</summary>", "", "```");
    for (const e of notable) lines.push(`${s(e.t).padStart(6)} ${e.subject}  ${e.what.slice(0, 160)}`);
    lines.push("```", "", "</details>", "");
    return lines.join("\n");
}
