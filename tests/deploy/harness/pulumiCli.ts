/**
 * The real Pulumi CLI on this project, offline: a file backend in a temp directory, the
 * passphrase secrets provider, no update checks and no plugin downloads (the docker and random
 * providers are installed as plugins by hand; see docs/testing.md, "The Pulumi toolchain").
 * The stack's config file (`Pulumi.<stack>.yaml`) is written into the project directory and
 * removed by {@link PulumiStack.remove}.
 */
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { CommandResult, runCommand } from "../../../testing/command";
import { whichSync } from "./dockerEngine";

/** Plugins a Docker stack's `pulumi up` needs, at the versions package.json pins. */
export const REQUIRED_PLUGINS = [
    ["docker", "5.2.0"],
    ["random", "4.21.2"],
] as const;

/** Plugins a Kubernetes stack's `pulumi up` needs. */
export const KUBERNETES_PLUGINS = [
    ["kubernetes", "4.34.2"],
    ["random", "4.21.2"],
] as const;

/** Why a real `pulumi up` cannot run here (with `plugins`), or undefined. */
export function pulumiSkipReason(plugins: readonly (readonly [string, string])[] = REQUIRED_PLUGINS): string | undefined {
    if (!whichSync("pulumi")) return "no pulumi CLI on PATH (build it: docs/testing.md, \"The Pulumi toolchain\")";
    if (!whichSync("pulumi-language-nodejs")) return "no pulumi-language-nodejs on PATH (build it with the CLI)";
    const home = process.env.PULUMI_HOME ?? path.join(process.env.HOME ?? "/root", ".pulumi");
    for (const [name, version] of plugins) {
        if (!fs.existsSync(path.join(home, "plugins", `resource-${name}-v${version}`))) return `the ${name} provider plugin ${version} is not installed (docs/testing.md, "The Pulumi toolchain")`;
    }
    return undefined;
}

export class PulumiStack {
    readonly stateDir: string;
    readonly configFile: string;

    /**
     * @param projectDir the directory of Pulumi.yaml
     * @param name the stack's name
     * @param stateDir where the file backend keeps state
     * @param env extra environment (e.g. DOCKER_HOST)
     * @param namespace the config namespace of the program's settings (its project name for a consumer's program)
     */
    constructor(
        readonly projectDir: string,
        readonly name: string,
        stateDir: string,
        private readonly env: Record<string, string>,
        private readonly namespace = "tile38-ha",
    ) {
        this.stateDir = stateDir;
        this.configFile = path.join(projectDir, `Pulumi.${name}.yaml`);
    }

    private cliEnv(): Record<string, string | undefined> {
        return {
            ...process.env,
            ...this.env,
            PULUMI_BACKEND_URL: `file://${this.stateDir}`,
            PULUMI_CONFIG_PASSPHRASE: "tile38-ha deploy suite",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_SKIP_CONFIRMATIONS: "true",
            NO_COLOR: "1",
        };
    }

    /** `pulumi ARGS --stack NAME --non-interactive`, bounded. */
    run(args: string[], timeoutMs = 600000): Promise<CommandResult> {
        return runCommand("pulumi", [...args, "--stack", this.name, "--non-interactive"], { env: this.cliEnv(), cwd: this.projectDir, timeoutMs });
    }

    async must(args: string[], timeoutMs = 600000): Promise<CommandResult> {
        const r = await this.run(args, timeoutMs);
        if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}:\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`);
        return r;
    }

    /** Creates the stack with this config (the namespace added to every key). */
    async init(config: Record<string, unknown>): Promise<void> {
        fs.mkdirSync(this.stateDir, { recursive: true });
        this.writeConfig(config);
        const r = await runCommand("pulumi", ["stack", "init", this.name, "--non-interactive"], { env: this.cliEnv(), cwd: this.projectDir, timeoutMs: 60000 });
        if (r.code !== 0) throw new Error(`pulumi stack init exited ${r.code}: ${r.stderr}`);
    }

    /** Rewrites the stack's config (keeps the secrets provider's salt). */
    writeConfig(config: Record<string, unknown>): void {
        const old = fs.existsSync(this.configFile) ? (yaml.load(fs.readFileSync(this.configFile, "utf8")) as Record<string, unknown>) : {};
        const namespaced = Object.fromEntries(Object.entries(config).map(([k, v]) => [`${this.namespace}:${k}`, v]));
        // Secrets set with setSecret stay (encrypted values are objects with a `secure` key).
        const oldConfig = (old.config ?? {}) as Record<string, unknown>;
        const secrets = Object.fromEntries(Object.entries(oldConfig).filter(([, v]) => typeof v === "object" && v !== null && "secure" in v));
        fs.writeFileSync(this.configFile, yaml.dump({ ...old, config: { ...secrets, ...namespaced } }));
    }

    /** `pulumi config set --secret NAMESPACE:KEY` (the value goes through stdin, never argv). */
    async setSecret(key: string, value: string): Promise<void> {
        const r = await runCommand("pulumi", ["config", "set", "--secret", `${this.namespace}:${key}`, "--stack", this.name, "--non-interactive"], { env: this.cliEnv(), cwd: this.projectDir, timeoutMs: 60000, input: value });
        if (r.code !== 0) throw new Error(`pulumi config set --secret ${key} exited ${r.code}: ${r.stderr}`);
    }

    up(timeoutMs = 900000): Promise<CommandResult> {
        return this.run(["up", "--yes", "--skip-preview", "--diff=false"], timeoutMs);
    }

    /** The stack's outputs, secrets in plain text (the test needs the passwords). */
    async outputs(): Promise<Record<string, unknown>> {
        return JSON.parse((await this.must(["stack", "output", "--json", "--show-secrets"], 60000)).stdout) as Record<string, unknown>;
    }

    /** Removes the stack, its state and its config file (the resources must be gone already). */
    async remove(): Promise<void> {
        await this.run(["stack", "rm", "--yes", "--force"], 60000);
        fs.rmSync(this.configFile, { force: true });
    }
}
