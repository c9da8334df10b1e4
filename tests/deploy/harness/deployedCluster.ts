/**
 * A cluster that a real `pulumi up` deployed on Docker, seen through its stack outputs
 * (endpoints, passwords, container names) and driven with the docker CLI: `docker kill` (the
 * container dying), `docker stop` (SIGTERM: the start script hands over), `docker start`.
 * The same probe as the process harness (health, agreed leader, node status), so the drill and
 * the tests ask the same questions of both.
 */
import { ClusterProbe, ProbeTopology } from "../../integration/harness/clusterProbe";
import { Endpoint } from "../../../components/render/topology";
import { CommandResult, runCommand } from "../../../testing/command";

/** The outputs of a Docker stack that a drill needs (see index.ts). */
export interface DockerStackOutputs {
    masterName: string;
    sentinelEndpoints: Endpoint[];
    tile38Endpoints: Endpoint[];
    tile38Password: string;
    sentinelPassword: string;
    dockerContainers: { tile38: string[]; sentinels: string[] };
}

/** Checks that `o` (from `pulumi stack output --json --show-secrets`) is a Docker stack's. */
export function dockerStackOutputs(o: Record<string, unknown>): DockerStackOutputs {
    const missing = ["masterName", "sentinelEndpoints", "tile38Endpoints", "tile38Password", "sentinelPassword", "dockerContainers"].filter((k) => o[k] === undefined);
    if (o.target !== "docker" || missing.length) {
        throw new Error(`not a deployed Docker stack of tile38-ha (target ${String(o.target)}${missing.length ? `; missing outputs: ${missing.join(", ")}` : ""})`);
    }
    return o as unknown as DockerStackOutputs;
}

export class DeployedCluster extends ClusterProbe {
    readonly passwords: { tile38: string; sentinel: string };
    private readonly running: boolean[];
    private readonly sentinelsRunning: boolean[];

    /** @param env the docker CLI's environment (DOCKER_HOST) */
    private constructor(readonly outputs: DockerStackOutputs, private readonly env: Record<string, string | undefined>, running: boolean[], sentinelsRunning: boolean[]) {
        super();
        this.passwords = { tile38: outputs.tile38Password, sentinel: outputs.sentinelPassword };
        this.running = running;
        this.sentinelsRunning = sentinelsRunning;
    }

    /** Reads which containers run now. */
    static async attach(outputs: DockerStackOutputs, env: Record<string, string | undefined> = process.env): Promise<DeployedCluster> {
        const state = async (name: string) => (await runCommand("docker", ["inspect", "-f", "{{.State.Running}}", name], { env, timeoutMs: 20000 })).stdout.trim() === "true";
        const nodes = await Promise.all(outputs.dockerContainers.tile38.map(state));
        const sentinels = await Promise.all(outputs.dockerContainers.sentinels.map(state));
        return new DeployedCluster(outputs, env, nodes, sentinels);
    }

    get topo(): ProbeTopology {
        return { masterName: this.outputs.masterName, nodes: this.outputs.tile38Endpoints, sentinels: this.outputs.sentinelEndpoints };
    }

    nodeRunning(i: number): boolean {
        return this.running[i];
    }

    sentinelRunning(i: number): boolean {
        return this.sentinelsRunning[i];
    }

    /** Re-reads which containers run (after a `pulumi up` replaced some). */
    async refresh(): Promise<void> {
        const fresh = await DeployedCluster.attach(this.outputs, this.env);
        fresh.running.forEach((r, i) => (this.running[i] = r));
        fresh.sentinelsRunning.forEach((r, i) => (this.sentinelsRunning[i] = r));
    }

    docker(args: string[], timeoutMs = 60000): Promise<CommandResult> {
        return runCommand("docker", args, { env: this.env, timeoutMs });
    }

    private async mustDocker(args: string[], timeoutMs = 60000): Promise<void> {
        const r = await this.docker(args, timeoutMs);
        if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    }

    async killNode(i: number): Promise<void> {
        this.running[i] = false;
        await this.mustDocker(["kill", this.outputs.dockerContainers.tile38[i]]);
    }

    /** `docker stop` with the container's own stop timeout (the hand-over's bound). */
    async stopNode(i: number): Promise<void> {
        await this.mustDocker(["stop", this.outputs.dockerContainers.tile38[i]], 120000);
        this.running[i] = false;
    }

    /**
     * `docker pause`: the container's processes frozen (cgroup freezer), as a stalled host. runc
     * gives up ("unable to freeze") when the cgroup does not settle in time on a loaded machine,
     * leaving the container running: tried again, a few times.
     */
    async freezeNode(i: number): Promise<void> {
        const name = this.outputs.dockerContainers.tile38[i];
        for (let attempt = 1; ; attempt++) {
            const r = await this.docker(["pause", name], 60000);
            if (r.code === 0) return;
            if (attempt >= 3 || !/unable to freeze/.test(r.stderr)) throw new Error(`docker pause ${name} exited ${r.code}: ${r.stderr}`);
        }
    }

    async thawNode(i: number): Promise<void> {
        await this.mustDocker(["unpause", this.outputs.dockerContainers.tile38[i]]);
    }

    async restartNode(i: number): Promise<void> {
        await this.mustDocker(["start", this.outputs.dockerContainers.tile38[i]]);
        this.running[i] = true;
    }

    /** The last lines of every container's log (start scripts and servers). */
    async logTails(lines = 40): Promise<string> {
        const names = [...this.outputs.dockerContainers.tile38, ...this.outputs.dockerContainers.sentinels];
        const logs = await Promise.all(
            names.map(async (n) => {
                const r = await this.docker(["logs", "--tail", String(lines), n], 20000);
                return `--- ${n}\n${r.stdout}${r.stderr}`;
            }),
        );
        return logs.join("\n");
    }
}
