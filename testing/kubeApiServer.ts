/**
 * A real kube-apiserver with its etcd on 127.0.0.1, for the Kubernetes API tests and
 * `npm run validate:k8s`: generated certificates (openssl), a static token file, RBAC
 * authorization, no anonymous access. No kubelet, no controller-manager: objects are validated,
 * admitted and stored exactly as a cluster does, but no pod ever runs.
 *
 * The binaries come from scripts/build-kube.sh (the pinned wrapper module
 * tools/kubernetes), cached in $HOME/.cache/tile38-ha/k8s-v1.32.2/.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { KubeClient } from "./kubeClient";
import { acceptsTcp } from "./tcp";

/** Kubernetes version the wrapper module pins (tools/kubernetes/go.mod). */
export const KUBERNETES_VERSION = "v1.32.2";

/** Where scripts/build-kube.sh puts the binaries (unless `K8S_BIN_DIR` is set). */
export function defaultBinDir(): string {
    return process.env.K8S_BIN_DIR ?? path.join(os.homedir(), ".cache", "tile38-ha", `k8s-${KUBERNETES_VERSION}`);
}

/** The two binaries, or why they cannot be used. */
export type KubeBinaries = { ok: true; kubeApiServer: string; etcd: string } | { ok: false; reason: string };

/** Finds kube-apiserver and etcd in `binDir`; never builds. */
export function findKubeBinaries(binDir = defaultBinDir()): KubeBinaries {
    const kubeApiServer = path.join(binDir, "kube-apiserver");
    const etcd = path.join(binDir, "etcd");
    const missing = [kubeApiServer, etcd].filter((f) => {
        try {
            fs.accessSync(f, fs.constants.X_OK);
            return false;
        } catch {
            return true;
        }
    });
    if (missing.length > 0) {
        return { ok: false, reason: `missing ${missing.join(" and ")}: run scripts/build-kube.sh (needs Go; ~10 min cold, cached in $HOME)` };
    }
    if (!hasCommand("openssl")) return { ok: false, reason: "openssl is not on PATH (it generates the API server's certificates)" };
    return { ok: true, kubeApiServer, etcd };
}

export function hasCommand(name: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore", timeout: 5000 }).status === 0;
}

/** Ports of one server pair; all on 127.0.0.1. */
export interface KubeApiServerPorts {
    /** kube-apiserver's secure port. */
    api: number;
    /** etcd's client port. */
    etcdClient: number;
    /** etcd's peer port (bound, never used by another member). */
    etcdPeer: number;
}

/** Options of {@link startKubeApiServer}. */
export interface StartKubeApiServerOptions {
    binaries: { kubeApiServer: string; etcd: string };
    ports: KubeApiServerPorts;
    /** Directory for certificates, etcd data and logs (created; removed by `stop` unless `keepDir`). */
    workDir?: string;
    /** Keep `workDir` after `stop` (for inspection). Default false. */
    keepDir?: boolean;
    /** Bound on the whole start (both processes healthy, RBAC bootstrapped). Default 60 s. */
    timeoutMs?: number;
    /** Service IP range. Default 10.96.0.0/16. */
    serviceClusterIpRange?: string;
    /** More addresses in the serving certificate (a node address pods or kubelets use). */
    extraCertificateIps?: string[];
    /** More kube-apiserver flags (a cluster with a kubelet). */
    extraArgs?: string[];
}

/** A running server pair. */
export interface RunningKubeApiServer {
    /** `https://127.0.0.1:<api>`. */
    url: string;
    /** A client authenticated as the admin (group `system:masters`). */
    admin: KubeClient;
    /** Milliseconds from spawn to ready. */
    startMs: number;
    /** The admin's bearer token (kubeconfigs of cluster components). */
    adminToken: string;
    /** The generated certificates. */
    certs: ApiServerCertificates;
    /** The work directory (certificates, logs). */
    workDir: string;
    /** The last lines of both logs. */
    logTail(lines?: number): string;
    /** Stops both processes (bounded) and removes the work directory. Safe to call twice. */
    stop(): Promise<void>;
}

const ADMIN_USER = "tile38-ha-admin";

function run(cmd: string, args: string[], cwd: string): void {
    const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 30_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr}`);
}

/** Files of {@link generateCertificates}. */
export interface ApiServerCertificates {
    ca: string;
    cert: string;
    key: string;
    saKey: string;
    saPub: string;
    /** Client certificate (group system:masters) the API server presents to kubelets. */
    kubeletClientCert: string;
    kubeletClientKey: string;
}

/** CA, serving certificate for 127.0.0.1 (+ `extraIps`), kubelet client certificate, service-account key pair. */
function generateCertificates(dir: string, extraIps: string[] = []): ApiServerCertificates {
    const f = (name: string) => path.join(dir, name);
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    const sign = (name: string, ext: string) => {
        fs.writeFileSync(f(`${name}.ext`), ext);
        run("openssl", ["x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f(`${name}.crt`), "-days", "2", "-extfile", f(`${name}.ext`)], dir);
    };
    run("openssl", ["req", "-x509", ...ec, "-keyout", f("ca.key"), "-out", f("ca.crt"), "-days", "2", "-subj", "/CN=tile38-ha-test-ca"], dir);
    run("openssl", ["req", ...ec, "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=kube-apiserver"], dir);
    const sans = ["IP:127.0.0.1", ...extraIps.map((ip) => `IP:${ip}`), "DNS:localhost"].join(",");
    sign("server", `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
    run("openssl", ["req", ...ec, "-keyout", f("kubelet-client.key"), "-out", f("kubelet-client.csr"), "-subj", "/O=system:masters/CN=kube-apiserver-kubelet-client"], dir);
    sign("kubelet-client", "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n");
    const sa = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    fs.writeFileSync(f("sa.key"), sa.privateKey.export({ type: "pkcs8", format: "pem" }));
    fs.writeFileSync(f("sa.pub"), sa.publicKey.export({ type: "spki", format: "pem" }));
    return {
        ca: f("ca.crt"),
        cert: f("server.crt"),
        key: f("server.key"),
        saKey: f("sa.key"),
        saPub: f("sa.pub"),
        kubeletClientCert: f("kubelet-client.crt"),
        kubeletClientKey: f("kubelet-client.key"),
    };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Every etcd / kube-apiserver this process started and has not seen exit. */
const live = new Set<LoggedProcess>();

/**
 * Stops every server this process started that is still running, including one whose start is
 * still under way (for signal handlers: Ctrl-C during `validate:k8s`). Bounded.
 */
export async function stopAllKubeProcesses(): Promise<void> {
    await Promise.all([...live].map((p) => p.stop()));
}

/** A detached process (own process group) logging to a file. */
export class LoggedProcess {
    readonly child: ChildProcess;
    exited = false;

    constructor(readonly name: string, readonly logFile: string, cmd: string, args: string[]) {
        const fd = fs.openSync(logFile, "a");
        try {
            // Minimal environment: nothing of the caller's (proxies, kubeconfigs) leaks in.
            this.child = spawn(cmd, args, { detached: true, stdio: ["ignore", fd, fd], env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: os.tmpdir() } });
        } finally {
            fs.closeSync(fd);
        }
        live.add(this);
        this.child.on("exit", () => {
            this.exited = true;
            live.delete(this);
        });
        this.child.on("error", (e) => {
            fs.appendFileSync(logFile, `--- spawn error: ${e.message}\n`);
            this.exited = true;
            live.delete(this);
        });
    }

    tail(lines: number): string {
        try {
            return fs.readFileSync(this.logFile, "utf8").split("\n").slice(-lines - 1).join("\n");
        } catch {
            return "(no log)";
        }
    }

    /** SIGTERM to the group, SIGKILL after `graceMs`; bounded. */
    async stop(graceMs = 5000): Promise<void> {
        const pid = this.child.pid;
        if (pid === undefined || this.exited) return;
        const signal = (sig: NodeJS.Signals) => {
            try {
                process.kill(-pid, sig);
            } catch {
                /* gone */
            }
        };
        signal("SIGTERM");
        const deadline = Date.now() + graceMs;
        while (!this.exited && Date.now() < deadline) await sleep(50);
        if (!this.exited) {
            signal("SIGKILL");
            const killDeadline = Date.now() + 3000;
            while (!this.exited && Date.now() < killDeadline) await sleep(50);
        }
    }
}

function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { timeout: timeoutMs }, (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
    });
}

/** Polls `check` until it returns true, bounded; a dead process ends the wait at once. */
export async function until(what: string, deadline: number, procs: LoggedProcess[], check: () => Promise<boolean>): Promise<void> {
    let last = "";
    for (;;) {
        const dead = procs.find((p) => p.exited);
        if (dead) throw new Error(`${dead.name} exited while waiting for ${what}`);
        try {
            if (await check()) return;
        } catch (e) {
            last = (e as Error).message;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last})` : ""}`);
        await sleep(200);
    }
}

/**
 * Starts etcd and kube-apiserver on 127.0.0.1 and waits (bounded) until the API server is ready
 * (`/readyz`, which includes the RBAC bootstrap). On any failure both are stopped and the error
 * carries the tails of both logs.
 */
export async function startKubeApiServer(opts: StartKubeApiServerOptions): Promise<RunningKubeApiServer> {
    const started = Date.now();
    const deadline = started + (opts.timeoutMs ?? 60_000);
    const { api, etcdClient, etcdPeer } = opts.ports;
    for (const port of [api, etcdClient, etcdPeer]) {
        if (await acceptsTcp("127.0.0.1", port)) throw new Error(`port 127.0.0.1:${port} is already in use: another API server test or validate:k8s may be running`);
    }
    const workDir = opts.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "tile38-ha-kube-"));
    fs.mkdirSync(workDir, { recursive: true });
    const certs = generateCertificates(workDir, opts.extraCertificateIps);
    const adminToken = crypto.randomBytes(24).toString("hex");
    const tokenFile = path.join(workDir, "tokens.csv");
    fs.writeFileSync(tokenFile, `${adminToken},${ADMIN_USER},${ADMIN_USER},"system:masters"\n`, { mode: 0o600 });

    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    const procs: LoggedProcess[] = [];
    const stopAll = async () => {
        await Promise.all(procs.map((p) => p.stop()));
    };
    const logTail = (lines = 40) => procs.map((p) => `===== ${p.name} (${p.logFile}) =====\n${p.tail(lines)}`).join("\n");
    let stopped = false;
    const stop = async () => {
        if (stopped) return;
        stopped = true;
        await stopAll();
        if (!opts.keepDir) fs.rmSync(workDir, { recursive: true, force: true });
    };
    try {
        procs.push(
            new LoggedProcess("etcd", path.join(workDir, "etcd.log"), opts.binaries.etcd, [
                "--name=tile38-ha-test",
                `--data-dir=${path.join(workDir, "etcd-data")}`,
                `--listen-client-urls=${etcdUrl}`,
                `--advertise-client-urls=${etcdUrl}`,
                `--listen-peer-urls=${peerUrl}`,
                `--initial-advertise-peer-urls=${peerUrl}`,
                `--initial-cluster=tile38-ha-test=${peerUrl}`,
                "--initial-cluster-state=new",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ]),
        );
        await until("etcd /health", deadline, procs, async () => {
            const r = await httpGet(`${etcdUrl}/health`, 2000);
            return r.status === 200 && r.body.includes('"health":"true"');
        });
        procs.push(
            new LoggedProcess("kube-apiserver", path.join(workDir, "kube-apiserver.log"), opts.binaries.kubeApiServer, [
                `--etcd-servers=${etcdUrl}`,
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                `--secure-port=${api}`,
                `--cert-dir=${path.join(workDir, "apiserver-certs")}`,
                `--tls-cert-file=${certs.cert}`,
                `--tls-private-key-file=${certs.key}`,
                `--client-ca-file=${certs.ca}`,
                `--kubelet-client-certificate=${certs.kubeletClientCert}`,
                `--kubelet-client-key=${certs.kubeletClientKey}`,
                `--token-auth-file=${tokenFile}`,
                "--anonymous-auth=false",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                `--service-account-key-file=${certs.saPub}`,
                `--service-account-signing-key-file=${certs.saKey}`,
                `--service-cluster-ip-range=${opts.serviceClusterIpRange ?? "10.96.0.0/16"}`,
                // There is no kubelet or node: the "kubernetes" Service's endpoint would be this
                // loopback address, which the reconciler refuses; nothing here needs it.
                "--endpoint-reconciler-type=none",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
                "--v=1",
                ...(opts.extraArgs ?? []),
            ]),
        );
        const admin = new KubeClient({ url: `https://127.0.0.1:${api}`, ca: fs.readFileSync(certs.ca), token: adminToken });
        await until("kube-apiserver /readyz", deadline, procs, async () => {
            const r = await admin.request("GET", "/readyz");
            return r.status === 200;
        });
        return { url: `https://127.0.0.1:${api}`, admin, startMs: Date.now() - started, adminToken, certs, workDir, logTail, stop };
    } catch (e) {
        const tails = logTail(60);
        await stop();
        throw new Error(`${(e as Error).message}\n----- logs -----\n${tails}`);
    }
}
