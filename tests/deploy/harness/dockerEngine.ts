/**
 * A real Docker engine (Debian's docker.io) started by the test itself: its own data root, exec
 * root and socket under a temp directory, no iptables rules, no bridge (the stack uses host
 * networking), nothing that reaches beyond this machine. Stopped and removed by {@link stop},
 * containers, mounts and all.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { which } from "../../integration/harness/busybox";
import { Harness, ManagedProcess } from "../../integration/harness/processes";
import { waitFor } from "../../integration/harness/wait";
import { CommandResult, mustRun, runCommand } from "../../../testing/command";

/** Why the engine cannot run here, or undefined. */
export function dockerEngineSkipReason(): string | undefined {
    if (process.getuid && process.getuid() !== 0) return "the deploy suite starts its own dockerd and needs root";
    for (const bin of ["dockerd", "docker", "containerd", "runc"]) {
        if (!whichSync(bin)) return `${bin} is not installed (apt-get install docker.io; .ci/run does)`;
    }
    return undefined;
}

/** A program on PATH or in the sbin directories (dockerd is in /usr/sbin), or undefined. */
export function whichSync(bin: string): string | undefined {
    return which(bin, ["/usr/sbin", "/sbin"]);
}

export class DockerEngine {
    /** `unix://…/docker.sock`, for DOCKER_HOST. */
    readonly host: string;
    private readonly root: string;
    private proc: ManagedProcess | undefined;

    private constructor() {
        // A short path: unix socket paths are limited to 108 bytes.
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), "t38d-"));
        this.host = `unix://${this.root}/docker.sock`;
    }

    static async start(h: Harness, timeoutMs = 60000): Promise<DockerEngine> {
        const e = new DockerEngine();
        e.proc = h.start({
            name: "dockerd",
            command: whichSync("dockerd")!,
            args: [
                "--data-root", `${e.root}/data`,
                "--exec-root", `${e.root}/exec`,
                "--pidfile", `${e.root}/docker.pid`,
                "-H", e.host,
                "--storage-driver", "overlay2",
                "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
                "--log-level", "warn",
            ],
            env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: process.env.HOME ?? "/root" },
        });
        try {
            await waitFor(async () => (await e.docker(["version", "--format", "{{.Server.Version}}"], 5000)).code === 0, { timeoutMs, what: "dockerd to answer", intervalMs: 300 });
        } catch (err) {
            await e.stop();
            throw new Error(`${(err as Error).message}\n${e.proc?.tail(30) ?? ""}`);
        }
        return e;
    }

    /** The environment a client of this engine (docker CLI, the Pulumi docker provider) needs. */
    env(): Record<string, string> {
        return { DOCKER_HOST: this.host };
    }

    docker(args: string[], timeoutMs = 60000): Promise<CommandResult> {
        return runCommand("docker", args, { env: { ...process.env, ...this.env() }, timeoutMs });
    }

    async mustDocker(args: string[], timeoutMs = 60000): Promise<string> {
        return (await mustRun("docker", args, { env: { ...process.env, ...this.env() }, timeoutMs })).stdout;
    }

    /** Stops every container, then dockerd; unmounts what it left and removes its directory. */
    async stop(): Promise<void> {
        if (this.proc && !this.proc.status) {
            const ids = (await this.docker(["ps", "-aq"], 10000)).stdout.split("\n").filter(Boolean);
            if (ids.length) await this.docker(["rm", "-f", ...ids], 60000);
            await this.proc.stop(20000);
        }
        const mounts = fs.readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")[1]).filter((m) => m && m.startsWith(this.root));
        for (const m of mounts.sort().reverse()) await runCommand("umount", ["-l", m], { timeoutMs: 10000 });
        fs.rmSync(this.root, { recursive: true, force: true });
    }
}
