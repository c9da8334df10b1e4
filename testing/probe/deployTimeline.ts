/**
 * Where the time of a real `pulumi up` onto a Docker engine goes: one timeline, in milliseconds
 * since the `up` started, from four sources recorded while it runs:
 * - Pulumi's own per-resource steps (`pulumi up --json` streams its engine events: each stamped
 *   as it arrives, their own timestamps are whole seconds);
 * - the engine's container events (`docker events`: create, start, kill, die, destroy, health);
 * - the Tile38 nodes' logs (`docker logs -t`: the start script's decisions, the node's state
 *   machine, the hand-over), followed from the old containers before they go;
 * - each node's ready mark (`.tile38-ha-ready`, which the health check reads), polled on the
 *   host in the volume's directory.
 * {@link describeTimeline} turns it into the per-node milestones and the waits between them.
 */
import * as fs from "fs";
import * as path from "path";
import { Harness, ManagedProcess } from "../fixtures/loopback/processes";
import { runCommand } from "../command";
import { sleep } from "./wait";

export interface TimelineEvent {
    /** ms since the `pulumi up` started. */
    t: number;
    /** Container name or resource name. */
    subject: string;
    /** `pod` and `event`: the Kubernetes API's pods and events (kubeTimeline.ts). */
    source: "pulumi" | "docker" | "log" | "mark" | "pod" | "event";
    what: string;
}

interface Options {
    h: Harness;
    /** The docker CLI's environment (DOCKER_HOST). */
    env: Record<string, string>;
    /** The Tile38 containers (node 1 first) and their data volumes. */
    tile38: string[];
}

/** Records a timeline from just before a `pulumi up` until {@link stop}. */
export class DeployTimeline {
    readonly startedAt = Date.now();
    private readonly events: TimelineEvent[] = [];
    private readonly dockerEvents: ManagedProcess;
    private readonly followers: { name: string; proc: ManagedProcess }[];
    private readonly mountpoints: (string | undefined)[];
    private readonly marks: boolean[];
    private running = true;
    private readonly poll: Promise<void>;

    private constructor(private readonly o: Options, mountpoints: (string | undefined)[], existing: string[]) {
        const env = { ...o.env, PATH: process.env.PATH ?? "/usr/bin:/bin" };
        const since = String(Math.floor(this.startedAt / 1000) - 1);
        this.dockerEvents = o.h.start({ name: "timeline-docker-events", command: "docker", args: ["events", "--since", since, "--filter", "type=container", "--format", "{{json .}}"], env });
        this.followers = existing.map((name) => ({ name, proc: o.h.start({ name: `timeline-logs-${name}`, command: "docker", args: ["logs", "-f", "-t", "--since", since, name], env }) }));
        this.mountpoints = mountpoints;
        this.marks = mountpoints.map(() => false);
        this.poll = this.run();
    }

    /** Starts recording (call right before the `pulumi up`). */
    static async start(o: Options): Promise<DeployTimeline> {
        const env = { ...process.env, ...o.env };
        const mountpoints = await Promise.all(
            o.tile38.map(async (name) => {
                const r = await runCommand("docker", ["volume", "inspect", "-f", "{{.Mountpoint}}", `${name}-data`], { env, timeoutMs: 20000 });
                return r.code === 0 ? r.stdout.trim() : undefined;
            }),
        );
        const running = await Promise.all(o.tile38.map(async (name) => (await runCommand("docker", ["inspect", "-f", "{{.State.Running}}", name], { env, timeoutMs: 20000 })).stdout.trim() === "true"));
        return new DeployTimeline(o, mountpoints, o.tile38.filter((_, i) => running[i]));
    }

    private add(at: number, subject: string, source: TimelineEvent["source"], what: string): void {
        this.events.push({ t: at - this.startedAt, subject, source, what });
    }

    private async run(): Promise<void> {
        while (this.running) {
            this.readMarks();
            await sleep(100);
        }
    }

    private readonly engine = new PulumiEventLines();

    /** Pulumi's engine events as `pulumi up --json` prints them (pass its standard output, chunk by chunk, as it comes). */
    readonly pulumiOutput = (chunk: string): void => {
        const now = Date.now();
        for (const e of this.engine.push(chunk)) {
            if (e.type === "docker:index/container:Container") this.add(engineEventTime(e, now), e.name!, "pulumi", `${e.kind} ${e.op}`);
        }
    };

    private lookedUp = 0;

    private readMarks(): void {
        const now = Date.now();
        // Volumes a first deploy creates: looked up again every second until they exist.
        if (this.mountpoints.some((m) => !m) && now - this.lookedUp > 1000) {
            this.lookedUp = now;
            this.o.tile38.forEach((name, i) => {
                if (this.mountpoints[i]) return;
                void runCommand("docker", ["volume", "inspect", "-f", "{{.Mountpoint}}", `${name}-data`], { env: { ...process.env, ...this.o.env }, timeoutMs: 5000 }).then((r) => {
                    if (r.code === 0 && r.stdout.trim()) this.mountpoints[i] = r.stdout.trim();
                });
            });
        }
        this.mountpoints.forEach((dir, i) => {
            if (!dir) return;
            const present = fs.existsSync(`${dir}/.tile38-ha-ready`);
            if (present !== this.marks[i]) this.add(now, this.o.tile38[i], "mark", present ? "ready mark made" : "ready mark removed");
            this.marks[i] = present;
        });
    }

    /** Stops recording; reads the current containers' logs; the events in time order. */
    async stop(): Promise<TimelineEvent[]> {
        await sleep(1000);
        this.running = false;
        await this.poll;
        await this.dockerEvents.stop(2000);
        for (const line of this.dockerEvents.log().split("\n")) {
            if (!line.startsWith("{")) continue;
            try {
                const e = JSON.parse(line) as { Action?: string; status?: string; timeNano?: number; Actor?: { Attributes?: Record<string, string> } };
                const action = e.Action ?? e.status ?? "";
                const name = e.Actor?.Attributes?.name;
                if (!name || action.startsWith("exec_") || action === "attach" || action === "resize") continue;
                this.add(Math.round((e.timeNano ?? 0) / 1e6), name, "docker", action);
            } catch {
                /* not an event */
            }
        }
        await Promise.all(this.followers.map((f) => f.proc.stop(2000)));
        const env = { ...process.env, ...this.o.env };
        const since = String(Math.floor(this.startedAt / 1000) - 1);
        const current = await Promise.all(
            this.o.tile38.map(async (name) => {
                const r = await runCommand("docker", ["logs", "-t", "--since", since, name], { env, timeoutMs: 30000 });
                return `${r.stdout}\n${r.stderr}`;
            }),
        );
        const seen = new Set<string>();
        const logLines = (name: string, text: string) => {
            for (const line of text.split("\n")) {
                const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (.*)$/.exec(line);
                if (!m || seen.has(`${name} ${line}`)) continue;
                seen.add(`${name} ${line}`);
                const what = m[2].replace(/^\S+Z tile38-ha\[[^\]]*\] /, "").replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d(\.\d+)? /, "server: ");
                this.add(Date.parse(m[1]), name, "log", what);
            }
        };
        this.followers.forEach((f) => logLines(f.name, f.proc.log()));
        this.o.tile38.forEach((name, i) => logLines(name, current[i]));
        return this.events.sort((a, b) => a.t - b.t);
    }
}

/** One of Pulumi's engine events: a resource's step starts (`step`), ends (`done`) or fails, or the run's prelude or summary. */
export interface PulumiEngineEvent {
    kind: "step" | "done" | "failed" | "prelude" | "summary";
    /** The step's operation (create, update, same, …). */
    op?: string;
    /** The resource's type token and name (from its URN). */
    type?: string;
    name?: string;
    /** The engine's own time of the event (ms; it stamps whole seconds). */
    at?: number;
}

/** Splits `pulumi up --json`'s standard output, chunk by chunk as it comes, into engine events. */
export class PulumiEventLines {
    private pending = "";

    push(chunk: string): PulumiEngineEvent[] {
        const text = this.pending + chunk;
        const end = text.lastIndexOf("\n");
        this.pending = text.slice(end + 1);
        const out: PulumiEngineEvent[] = [];
        for (const line of text.slice(0, end + 1).split("\n").filter(Boolean)) {
            try {
                const e = JSON.parse(line) as Record<string, { metadata?: { op?: string; urn?: string } } | undefined> & { timestamp?: number };
                const at = typeof e.timestamp === "number" ? e.timestamp * 1000 : undefined;
                if (e.preludeEvent) out.push({ kind: "prelude", at });
                if (e.summaryEvent) out.push({ kind: "summary", at });
                const pre = e.resourcePreEvent?.metadata;
                const done = e.resOutputsEvent?.metadata;
                const failed = e.resOpFailedEvent?.metadata;
                const m = pre ?? done ?? failed;
                if (!m?.urn) continue;
                const [type, name] = m.urn.split("::").slice(-2);
                out.push({ kind: pre ? "step" : done ? "done" : "failed", op: m.op, type: type.split("$").pop(), name, at });
            } catch {
                /* not an event */
            }
        }
        return out;
    }
}

/**
 * When an engine event happened: when it arrived (`now`), unless that was more than 1.5 s after
 * the engine's own whole-second stamp (the test's event loop was blocked meanwhile): then the
 * middle of that second.
 */
export function engineEventTime(e: PulumiEngineEvent, now: number): number {
    return e.at !== undefined && now - e.at > 1500 ? e.at + 500 : now;
}

/** A milestone of a node's part in an `up`: the first event matching `match` at or after the previous milestone's. */
interface Milestone {
    name: string;
    match: (e: TimelineEvent) => boolean;
    /** What the time since the previous milestone is spent on. */
    cause: string;
}

const docker = (action: RegExp) => (e: TimelineEvent) => e.source === "docker" && action.test(e.what);
const log = (text: RegExp) => (e: TimelineEvent) => e.source === "log" && text.test(e.what);

/** The milestones of one Tile38 node in an `up` (those that did not happen are left out). */
const MILESTONES: Milestone[] = [
    { name: "Pulumi starts the node's step", match: (e) => e.source === "pulumi" && /^step /.test(e.what), cause: "Pulumi: the program, the providers, the resources this one waits for" },
    { name: "old container stopped", match: docker(/^die$/), cause: "stop: SIGTERM, the leader's hand-over, tile38-server's exit" },
    { name: "old container removed", match: docker(/^destroy$/), cause: "docker rm" },
    { name: "container created", match: docker(/^create$/), cause: "provider: create (uploads the scripts)" },
    { name: "container started", match: docker(/^start$/), cause: "docker start" },
    { name: "start decision", match: log(/^(starting as|empty data dir)/), cause: "start script: ask the sentinels who leads" },
    { name: "starts as follower or leader", match: log(/^starting as/), cause: "start script: an empty node waits out the sentinels' trust in an earlier INFO (STALE_INFO_SECONDS)" },
    { name: "node state following / unconfirmed", match: log(/^state .* -> (following|unconfirmed)$/), cause: "tile38-server listening, first catch-up (a follower), node_life's 1 s step" },
    { name: "node state verified / leading", match: log(/^state .* -> (verified|leading)$/), cause: "AOF checked against the leader's (a follower); a majority of the sentinels confirm this incarnation (a leader)" },
    { name: "ready mark", match: (e) => e.source === "mark" && e.what === "ready mark made", cause: "a majority of the sentinels list the follower as promotable (their INFO of it shows priority > 0, a PING reply from this incarnation)" },
    { name: "healthy (Docker)", match: docker(/health_status: healthy/), cause: "Docker's health check interval (2 s; the first check 2 s after the start)" },
    { name: "Pulumi has the node done", match: (e) => e.source === "pulumi" && /^done /.test(e.what), cause: "the docker provider polls the health every 1 s" },
];

/** Per Tile38 node: each milestone's time (s since the up started) and the wait before it. */
export function nodeMilestones(events: TimelineEvent[], node: string): { name: string; t: number; waitMs: number; cause: string }[] {
    const mine = events.filter((e) => e.subject === node);
    const out: { name: string; t: number; waitMs: number; cause: string }[] = [];
    let from = -Infinity;
    let prev = 0;
    for (const m of MILESTONES) {
        const e = mine.find((x) => x.t >= from && m.match(x));
        if (!e) continue;
        out.push({ name: m.name, t: e.t, waitMs: out.length ? e.t - prev : e.t, cause: m.cause });
        from = e.t;
        prev = e.t;
    }
    return out;
}

/** A node's milestone as the tables show it. */
export interface MilestoneRow {
    name: string;
    t: number;
    waitMs: number;
    cause: string;
}

/** One Markdown table of milestones per node, the nodes in the order of `startOf` (their first milestone that counts). */
export function milestoneTables(nodes: string[], milestonesOf: (node: string) => MilestoneRow[], startOf: (ms: MilestoneRow[]) => number | undefined): string[] {
    const s = (ms: number) => (ms / 1000).toFixed(1);
    const lines: string[] = [];
    const order = nodes
        .map((n) => ({ n, ms: milestonesOf(n) }))
        .map((x) => ({ ...x, first: startOf(x.ms) ?? Infinity }))
        .sort((a, b) => a.first - b.first);
    for (const { n, ms } of order) {
        lines.push(`**${n}**`, "", "| at s | wait s | milestone | what the wait is |", "| ---: | ---: | --- | --- |");
        for (const m of ms) lines.push(`| ${s(m.t)} | ${s(m.waitMs)} | ${m.name} | ${m.cause} |`);
        lines.push("");
    }
    return lines;
}

/** The timeline as Markdown: per node the milestones and waits, then the nodes' notable log lines. */
export function describeTimeline(title: string, events: TimelineEvent[], nodes: string[], totalMs: number): string {
    const s = (ms: number) => (ms / 1000).toFixed(1);
    const lines = [`### ${title}`, "", `\`pulumi up\` took ${s(totalMs)} s. Times in seconds since it started; "wait" is the time since the node's previous milestone.`, ""];
    lines.push(...milestoneTables(nodes, (n) => nodeMilestones(events, n), (ms) => ms[0]?.t));
    const containers = [...new Set(events.filter((e) => e.source === "pulumi" || e.source === "docker").map((e) => e.subject))];
    const at = (name: string, match: (e: TimelineEvent) => boolean) => {
        const e = events.filter((x) => x.subject === name && match(x));
        return e.length ? s(e[e.length - 1].t) : "";
    };
    const rows = containers
        .map((c) => ({ c, step: events.find((e) => e.subject === c && e.source === "pulumi")?.t ?? Infinity }))
        .sort((a, b) => a.step - b.step)
        .map(({ c }) =>
            `| ${c} | ${at(c, (e) => e.source === "pulumi" && /^step /.test(e.what))} | ${at(c, docker(/^create$/))} | ${at(c, docker(/^start$/))} | ${at(c, docker(/health_status: healthy/))} | ${at(c, (e) => e.source === "pulumi" && /^done /.test(e.what))} |`,
        );
    lines.push("Every container (the last of each event):", "", "| container | Pulumi step | created | started | healthy | Pulumi done |", "| --- | ---: | ---: | ---: | ---: | ---: |", ...rows, "");
    const notable = events.filter((e) => e.source === "log" && nodes.includes(e.subject) && !/^server: /.test(e.what) && !/^\S+ \[(INFO|DEBU)/.test(e.what));
    lines.push("<details><summary>the nodes' own log lines</summary>", "", "```");
    for (const e of notable) lines.push(`${s(e.t).padStart(6)} ${e.subject}  ${e.what.slice(0, 160)}`);
    lines.push("```", "", "</details>", "");
    return lines.join("\n");
}

const DOCKER_RECORDED_BY =
    "Recorded by the Docker deploy suite (tests/deploy/dockerDeploy.test.ts, testing/probe/deployTimeline.ts) from Pulumi's event log, the engine's container events, the Tile38 nodes' logs and their ready marks.";

/**
 * Writes (or replaces) the section `name` of `file` with `body`, stamped with the date, the
 * machine and the command; the other sections stay.
 */
export function recordTimeline(file: string, name: string, body: string, how: string, machine: string, recordedBy = DOCKER_RECORDED_BY): void {
    const begin = `<!-- section: ${name} -->`;
    const end = `<!-- end: ${name} -->`;
    const head = [
        "# Day 1 and day 2: where the time of a `pulumi up` goes",
        "",
        `<!-- written by ${how}; each run replaces its own sections -->`,
        "",
        recordedBy,
        "",
    ].join("\n");
    const old = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const sections = [...old.matchAll(/<!-- section: (.*?) -->[\s\S]*?<!-- end: \1 -->\n?/g)].filter((m) => m[1] !== name).map((m) => m[0].trimEnd());
    const mine = [begin, `Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine}.`, "", body.trimEnd(), end].join("\n");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${head}\n${[...sections, mine].sort().join("\n\n")}\n`);
}
