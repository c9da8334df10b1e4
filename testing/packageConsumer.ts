/**
 * The package as another team gets it: `npm pack` of this repository, and a consumer directory
 * made from one of `examples/` with its own package.json (its own `@pulumi/*` versions) and the
 * tarball installed, never the source tree. Used by the unit tests (type-check, a run under mocks)
 * and the deploy suites (a real `pulumi up` of the consumer).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { mustRun } from "./command";

export const REPO_DIR = path.join(__dirname, "..");
export const EXAMPLES_DIR = path.join(REPO_DIR, "examples");

const NPM_ENV = () => ({ ...process.env, npm_config_fund: "false", npm_config_audit: "false", npm_config_update_notifier: "false" });

/** Builds and packs the repository into `outDir`; returns the tarball's path. */
export async function packTarball(outDir: string): Promise<string> {
    fs.mkdirSync(outDir, { recursive: true });
    await mustRun("npm", ["run", "build", "--silent"], { cwd: REPO_DIR, env: NPM_ENV(), timeoutMs: 180000 });
    const r = await mustRun("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", outDir], { cwd: REPO_DIR, env: NPM_ENV(), timeoutMs: 120000 });
    const [{ filename }] = JSON.parse(r.stdout) as { filename: string }[];
    return path.join(outDir, filename);
}

/** The files of a tarball (`package/…` paths stripped). */
export async function tarballFiles(tarball: string): Promise<string[]> {
    const r = await mustRun("tar", ["-tzf", tarball], { timeoutMs: 30000 });
    return r.stdout.split("\n").filter(Boolean).map((f) => f.replace(/^package\//, ""));
}

/**
 * Copies `examples/<example>` into `workDir/<example>`, points its `tile38-ha` dependency at the
 * tarball and installs (install scripts skipped: @pulumi/kubernetes's downloads a plugin).
 * Returns the consumer's directory.
 */
export async function installConsumer(example: string, workDir: string, tarball: string): Promise<string> {
    const dir = path.join(workDir, example);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(path.join(EXAMPLES_DIR, example), dir, { recursive: true });
    const pkgFile = path.join(dir, "package.json");
    const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8")) as { dependencies: Record<string, string> };
    pkg.dependencies["tile38-ha"] = `file:${tarball}`;
    fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
    await mustRun("npm", ["install", "--ignore-scripts", "--no-package-lock"], { cwd: dir, env: NPM_ENV(), timeoutMs: 600000 });
    return dir;
}

/** `tsc` of the consumer with its own TypeScript and its own `@pulumi/*` types. */
export async function typeCheckConsumer(dir: string): Promise<void> {
    await mustRun(path.join(dir, "node_modules/.bin/tsc"), ["-p", dir], { cwd: dir, env: NPM_ENV(), timeoutMs: 180000 });
}

/** A resource the consumer's program declared, as its own `@pulumi/pulumi` mocks saw it. */
export interface MockedResource {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    /** The provider reference the resource was given (`urn::id`), if any. */
    provider?: string;
}

/** What a consumer's program did under mocks: its resources and its resolved outputs (secrets masked). */
export interface MockedRun {
    resources: MockedResource[];
    outputs: Record<string, unknown>;
    /** Paths of the outputs that are secrets, e.g. `connection.tile38Password`. */
    secretOutputs: string[];
}

/**
 * Runs the consumer's program under the mocks of the consumer's own `@pulumi/pulumi` (compiled
 * with its own TypeScript), with `config` as the stack config of its project.
 */
export async function runConsumerUnderMocks(dir: string, project: string, config: Record<string, string> = {}): Promise<MockedRun> {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "consumer-out-"));
    try {
        await mustRun(path.join(dir, "node_modules/.bin/tsc"), ["-p", dir, "--noEmit", "false", "--outDir", out], { cwd: dir, timeoutMs: 180000 });
        const runner = path.join(out, "mock-run.js");
        fs.writeFileSync(runner, MOCK_RUNNER);
        const env = { ...process.env, PULUMI_CONFIG: JSON.stringify(Object.fromEntries(Object.entries(config).map(([k, v]) => [`${project}:${k}`, v]))), NODE_PATH: path.join(dir, "node_modules") };
        const result = path.join(out, "result.json");
        await mustRun("node", [runner, path.join(out, "index.js"), project, result], { cwd: dir, env, timeoutMs: 120000 });
        return JSON.parse(fs.readFileSync(result, "utf8")) as MockedRun;
    } finally {
        fs.rmSync(out, { recursive: true, force: true });
    }
}

/** The runner: the consumer's @pulumi/pulumi mocks, the program, then its resources and outputs as JSON into a file. */
const MOCK_RUNNER = `
const pulumi = require("@pulumi/pulumi");
const resources = [];
pulumi.runtime.setMocks({
    newResource: (a) => {
        resources.push({ type: a.type, name: a.name, inputs: a.inputs, provider: a.provider });
        const extra = a.type === "random:index/randomPassword:RandomPassword" ? { result: "generated-" + a.name } : a.type === "docker:index/remoteImage:RemoteImage" ? { imageId: "sha256:fake-" + a.inputs.name } : {};
        return { id: a.name + "_id", state: { ...a.inputs, ...extra } };
    },
    call: (a) => a.inputs,
}, process.argv[3], "mock", false);
const program = require(process.argv[2]);
const SIG = "4dabf18193072939515e22adb298388d";
(async () => {
    let last = -1;
    for (let i = 0; i < 100 && resources.length !== last; i++) { last = resources.length; await new Promise((r) => setTimeout(r, 200)); }
    const outputs = {}, secretOutputs = [];
    const unwrap = async (x, at) => {
        if (pulumi.Output.isInstance(x)) {
            if (await x.isSecret) secretOutputs.push(at);
            return new Promise((res) => x.apply((y) => { res(y); return y; }));
        }
        if (x && typeof x === "object" && !Array.isArray(x)) { const o = {}; for (const [k, v] of Object.entries(x)) o[k] = await unwrap(v, at + "." + k); return o; }
        return x;
    };
    for (const [k, v] of Object.entries(program)) outputs[k] = await unwrap(v, k);
    const mask = (x) => (x && typeof x === "object" ? (x[SIG] ? "[secret]" : Array.isArray(x) ? x.map(mask) : Object.fromEntries(Object.entries(x).map(([k, v]) => [k, mask(v)]))) : x);
    require("fs").writeFileSync(process.argv[4], JSON.stringify({ resources: resources.map((r) => ({ ...r, inputs: mask(r.inputs) })), outputs, secretOutputs }));
    process.exit(0);
})();
`;

/**
 * The plugin versions this machine has (built by hand; no registry serves them), which a plugin
 * directory's peers must resolve to when it runs offline.
 */
export const OFFLINE_PEERS: Record<string, string> = {
    "@pulumi/docker": "5.2.0",
    "@pulumi/kubernetes": "4.34.2",
    "@pulumi/pulumi": "3.248.0",
    "@pulumi/random": "4.21.2",
};

/**
 * The tarball unpacked as the directory `pulumi package add` is given (the npm package is the
 * Pulumi plugin: PulumiPlugin.yaml, dist/, tsconfig.json). Two changes for an offline machine,
 * none to the code: its peers pinned to {@link OFFLINE_PEERS} (a range would resolve to the
 * newest release, whose plugin this machine cannot download), and its dev dependencies dropped
 * (this Pulumi installs a plugin's dev dependencies, @pulumi/aws among them, and would then
 * download the AWS plugin; the package itself loads @pulumi/aws only for S3 backups).
 */
export async function unpackPluginDir(tarball: string, workDir: string): Promise<string> {
    const dir = path.join(workDir, "tile38-ha-plugin");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    await mustRun("tar", ["-xzf", tarball, "-C", dir, "--strip-components=1"], { timeoutMs: 60000 });
    const pkgFile = path.join(dir, "package.json");
    const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8")) as Record<string, unknown>;
    delete pkg.devDependencies;
    pkg.peerDependencies = { ...(pkg.peerDependencies as Record<string, string>), ...OFFLINE_PEERS };
    fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
    return dir;
}

/**
 * A Python consumer: `examples/python` copied, its virtualenv with the pinned Python SDK from
 * PyPI, and `pulumi package add <pluginDir>` (which generates `sdks/tile38-ha` and installs it
 * into the virtualenv). Returns the project directory.
 */
export async function addPackageToPython(pluginDir: string, workDir: string, env: Record<string, string | undefined>): Promise<string> {
    const dir = path.join(workDir, "python");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(path.join(EXAMPLES_DIR, "python"), dir, { recursive: true });
    await mustRun("python3", ["-m", "venv", "venv"], { cwd: dir, timeoutMs: 120000 });
    await mustRun(path.join(dir, "venv/bin/pip"), ["install", "-q", "-r", "requirements.txt"], { cwd: dir, timeoutMs: 600000 });
    await mustRun("pulumi", ["package", "add", pluginDir], { cwd: dir, env, timeoutMs: 600000 });
    return dir;
}

/** A YAML consumer: `examples/yaml` copied and `pulumi package add <pluginDir>` (a `packages:` entry). */
export async function addPackageToYaml(pluginDir: string, workDir: string, env: Record<string, string | undefined>): Promise<string> {
    const dir = path.join(workDir, "yaml");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(path.join(EXAMPLES_DIR, "yaml"), dir, { recursive: true });
    await mustRun("pulumi", ["package", "add", pluginDir], { cwd: dir, env, timeoutMs: 600000 });
    return dir;
}
