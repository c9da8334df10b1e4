/**
 * A real Prometheus (3.x, built from the Go module proxy by .ci/run) for the live checks of the
 * metrics, the alert rules and the dashboard: it scrapes the given targets (file-based discovery,
 * so a test can re-point it when pods change IP), evaluates the shipped rule file, and answers
 * queries and the active alerts through its HTTP API. Used by the integration suite and the Docker
 * and Kubernetes deploy suites; every wait is bounded; {@link RealPrometheus.stop} kills the
 * process and removes its temp directory.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { acceptsTcp } from "./tcp";

/** One endpoint to scrape. */
export interface ScrapeTarget {
    /** Which process serves it; also the scrape job's name and the `tile38_ha_component` label. */
    component: "tile38" | "sentinel" | "backup";
    /** The cluster it belongs to (the `tile38_ha_cluster` label). */
    cluster: string;
    /** `host:port` of its metrics endpoint. */
    address: string;
    /** More labels on every series of this target (e.g. `node`). */
    labels?: Record<string, string>;
}

/** Options of {@link RealPrometheus.start}. */
export interface RealPrometheusOptions {
    /** Port of the HTTP API (tests use ports below 32768). */
    port: number;
    /** Address the API binds. @default "127.0.0.1" */
    listenHost?: string;
    /** What to scrape at the start ({@link RealPrometheus.setTargets} changes it). */
    targets: ScrapeTarget[];
    /** Rule files to evaluate (e.g. monitoring/tile38-ha.rules.yml). @default none */
    ruleFiles?: string[];
    /** @default 1 */
    scrapeIntervalSeconds?: number;
    /** @default 1 */
    evaluationIntervalSeconds?: number;
    /** How long to wait for Prometheus to be ready. @default 30000 */
    readyTimeoutMs?: number;
}

/** One series of an instant query. */
export interface QuerySample {
    /** Its labels (`__name__` included when the expression keeps it). */
    metric: Record<string, string>;
    /** Its value at the query's time. */
    value: number;
}

/** One active (pending or firing) alert, as `/api/v1/alerts` reports it. */
export interface ActiveAlert {
    /** The alert's name (its `alertname` label). */
    name: string;
    /** Every label, `alertname` and `severity` included. */
    labels: Record<string, string>;
    /** The expanded `summary` and `description`. */
    annotations: Record<string, string>;
    /** Pending: the expression holds, shorter than its `for`; firing: longer. */
    state: "pending" | "firing";
    /** When the expression first held (RFC 3339). */
    activeAt: string;
    /** The expression's value (as Prometheus formats it). */
    value: string;
}

const COMPONENTS: ScrapeTarget["component"][] = ["tile38", "sentinel", "backup"];

/** The first executable `name` on PATH, then in $GOPATH/bin, then in ~/go/bin (where .ci/run builds it). */
export function findGoBinary(name: string): string | undefined {
    const dirs = [...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean)];
    if (process.env.GOPATH) dirs.push(...process.env.GOPATH.split(path.delimiter).map((d) => path.join(d, "bin")));
    dirs.push(path.join(os.homedir(), "go", "bin"));
    for (const dir of dirs) {
        const p = path.join(dir, name);
        try {
            fs.accessSync(p, fs.constants.X_OK);
            if (fs.statSync(p).isFile()) return p;
        } catch {
            /* next */
        }
    }
    return undefined;
}

/** Why Prometheus cannot run here, or undefined when it can. */
export function prometheusSkipReason(): string | undefined {
    if (!findGoBinary("prometheus")) return "prometheus not found on PATH, in $GOPATH/bin or ~/go/bin (.ci/run builds Prometheus v0.316.0 = 3.x from the Go module proxy)";
    return undefined;
}

/** Why promtool cannot run here, or undefined when it can. */
export function promtoolSkipReason(): string | undefined {
    if (!findGoBinary("promtool")) return "promtool not found on PATH, in $GOPATH/bin or ~/go/bin (.ci/run builds promtool v0.316.0 from the Go module proxy)";
    return undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** GET `url` with a bounded wait; resolves with the status and body. */
function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            res.on("error", reject);
        });
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`)));
        req.on("error", reject);
    });
}

/** Writes `text` to `file` by rename, so the file watcher never reads half a file. */
function writeAtomically(file: string, text: string): void {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
}

/** Every started instance, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
    for (const child of running) child.kill("SIGKILL");
});

/** A running Prometheus process (see the file's header). */
export class RealPrometheus {
    /** Base URL of the HTTP API. */
    readonly url: string;
    private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;

    private constructor(
        /** Temp directory: config, targets, TSDB, log. */
        readonly dir: string,
        private readonly child: ChildProcess,
        readonly logFile: string,
        host: string,
        /** The API's port. */
        readonly port: number,
    ) {
        this.url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
        child.on("exit", (code, signal) => {
            this.exited = { code, signal };
            running.delete(child);
        });
    }

    /** Writes the config and the targets, starts Prometheus and waits (bounded) until it is ready. */
    static async start(opts: RealPrometheusOptions): Promise<RealPrometheus> {
        const bin = findGoBinary("prometheus");
        if (!bin) throw new Error(prometheusSkipReason());
        const host = opts.listenHost ?? "127.0.0.1";
        if (await acceptsTcp(host, opts.port)) throw new Error(`port ${host}:${opts.port} is already in use: another Prometheus test may be running`);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tile38-ha-prometheus-"));
        const scrape = opts.scrapeIntervalSeconds ?? 1;
        const config = {
            global: { scrape_interval: `${scrape}s`, scrape_timeout: `${Math.min(scrape, 10)}s`, evaluation_interval: `${opts.evaluationIntervalSeconds ?? 1}s` },
            rule_files: (opts.ruleFiles ?? []).map((f) => path.resolve(f)),
            scrape_configs: COMPONENTS.map((c) => ({
                job_name: c,
                // The file is watched (inotify); the refresh is the fallback.
                file_sd_configs: [{ files: [path.join(dir, `targets-${c}.json`)], refresh_interval: "1s" }],
            })),
        };
        // JSON is YAML: no YAML writer needed.
        fs.writeFileSync(path.join(dir, "prometheus.yml"), JSON.stringify(config, null, 2));
        const logFile = path.join(dir, "prometheus.log");
        const fd = fs.openSync(logFile, "a");
        let child: ChildProcess;
        try {
            writeTargets(dir, opts.targets);
            child = spawn(
                bin,
                [
                    `--config.file=${path.join(dir, "prometheus.yml")}`,
                    `--storage.tsdb.path=${path.join(dir, "data")}`,
                    `--web.listen-address=${host.includes(":") ? `[${host}]` : host}:${opts.port}`,
                    // Target changes reach the scrapers in ~1 s instead of the default 5 s throttle.
                    "--scrape.discovery-reload-interval=500ms",
                    "--log.level=info",
                ],
                { cwd: dir, stdio: ["ignore", fd, fd] },
            );
        } catch (e) {
            fs.rmSync(dir, { recursive: true, force: true });
            throw e;
        } finally {
            fs.closeSync(fd);
        }
        running.add(child);
        const p = new RealPrometheus(dir, child, logFile, host, opts.port);
        try {
            await p.poll(`Prometheus to be ready on ${p.url}`, opts.readyTimeoutMs ?? 30_000, async () => (await httpGet(`${p.url}/-/ready`, 2000)).status === 200);
        } catch (e) {
            const log = p.logTail();
            await p.stop();
            throw new Error(`${(e as Error).message}\n----- prometheus log -----\n${log}`);
        }
        return p;
    }

    /** Replaces the scraped targets; Prometheus scrapes the new set within ~1-2 s. */
    async setTargets(targets: ScrapeTarget[]): Promise<void> {
        writeTargets(this.dir, targets);
    }

    /** An instant query (now); throws on a PromQL error. */
    async query(expr: string): Promise<QuerySample[]> {
        const data = (await this.api(`/api/v1/query?query=${encodeURIComponent(expr)}`)) as { resultType: string; result: unknown };
        if (data.resultType === "scalar" || data.resultType === "string") {
            const [, v] = data.result as [number, string];
            return [{ metric: {}, value: Number(v) }];
        }
        if (data.resultType !== "vector") throw new Error(`${expr}: a ${data.resultType}, not an instant vector`);
        return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
    }

    /** The active alerts (pending and firing). */
    async alerts(): Promise<ActiveAlert[]> {
        const data = (await this.api("/api/v1/alerts")) as { alerts: Omit<ActiveAlert, "name">[] };
        return data.alerts.map((a) => ({ name: a.labels.alertname, labels: a.labels, annotations: a.annotations ?? {}, state: a.state, activeAt: a.activeAt, value: a.value }));
    }

    /**
     * Waits (bounded) until alert `name` whose labels include `labelMatch` fires ("firing"), or
     * until no such alert is active, neither pending nor firing ("inactive"). Returns the ms waited.
     */
    async waitForAlert(name: string, state: "firing" | "inactive", timeoutMs: number, labelMatch: Record<string, string> = {}): Promise<number> {
        const started = Date.now();
        const matches = (a: ActiveAlert) => a.name === name && Object.entries(labelMatch).every(([k, v]) => a.labels[k] === v);
        let seen: ActiveAlert[] = [];
        try {
            await this.poll(`alert ${name}${JSON.stringify(labelMatch)} to be ${state}`, timeoutMs, async () => {
                seen = await this.alerts();
                const mine = seen.filter(matches);
                return state === "firing" ? mine.some((a) => a.state === "firing") : mine.length === 0;
            });
        } catch (e) {
            const active = seen.map((a) => `${a.name} ${a.state} since ${a.activeAt} ${JSON.stringify(a.labels)}`).join("\n") || "(none)";
            throw new Error(`${(e as Error).message}\nactive alerts:\n${active}`);
        }
        return Date.now() - started;
    }

    /** The last `lines` lines of Prometheus' log. */
    logTail(lines = 30): string {
        try {
            return fs.readFileSync(this.logFile, "utf8").split("\n").slice(-lines - 1).join("\n");
        } catch {
            return "(no log)";
        }
    }

    /** Kills the process (SIGTERM, SIGKILL after 5 s) and removes the temp directory. */
    async stop(): Promise<void> {
        if (!this.exited) {
            this.child.kill("SIGTERM");
            const deadline = Date.now() + 5000;
            while (!this.exited && Date.now() < deadline) await sleep(50);
            if (!this.exited) this.child.kill("SIGKILL");
            const killDeadline = Date.now() + 2000;
            while (!this.exited && Date.now() < killDeadline) await sleep(50);
        }
        running.delete(this.child);
        if (process.env.TILE38_HA_KEEP_LOGS) process.stderr.write(`prometheus dir kept in ${this.dir}\n`);
        else fs.rmSync(this.dir, { recursive: true, force: true });
    }

    /** GET an API path and return its `data`; throws with Prometheus' error otherwise. */
    private async api(pathAndQuery: string): Promise<unknown> {
        const r = await httpGet(`${this.url}${pathAndQuery}`, 10_000);
        let body: { status?: string; data?: unknown; error?: string };
        try {
            body = JSON.parse(r.body) as typeof body;
        } catch {
            throw new Error(`${pathAndQuery}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
        }
        if (body.status !== "success") throw new Error(`${pathAndQuery}: ${body.error ?? `HTTP ${r.status}`}`);
        return body.data;
    }

    /** Polls `check` every 250 ms until true; throws after `timeoutMs`, or at once if Prometheus exited. */
    private async poll(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        let last = "";
        for (;;) {
            if (this.exited) throw new Error(`Prometheus exited (${JSON.stringify(this.exited)}) while waiting for ${what}`);
            try {
                if (await check()) return;
                last = "";
            } catch (e) {
                last = (e as Error).message;
            }
            if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}`);
            await sleep(250);
        }
    }
}

/** One file_sd file per scrape job; every target labelled with its component and cluster. */
function writeTargets(dir: string, targets: ScrapeTarget[]): void {
    for (const c of COMPONENTS) {
        const groups = targets
            .filter((t) => t.component === c)
            .map((t) => ({ targets: [t.address], labels: { ...t.labels, tile38_ha_component: t.component, tile38_ha_cluster: t.cluster } }));
        writeAtomically(path.join(dir, `targets-${c}.json`), JSON.stringify(groups, null, 2));
    }
}
