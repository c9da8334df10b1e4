/** `npm run synth -- <stack>` as a user runs it: a subprocess reading a stack file. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const root = path.join(__dirname, "../..");
function synth(stack: string) {
    return spawnSync("npx", ["ts-node", "--transpile-only", "scripts/synth.ts", stack], { cwd: root, encoding: "utf8", timeout: 60000 });
}

describe("npm run synth", () => {
    it("lists three Tile38 and three sentinel containers for dev, host networking, pinned images, secrets masked", () => {
        const run = synth("dev");
        expect(run.status).toBe(0);
        const resources = JSON.parse(run.stdout) as { type: string; name: string; inputs: Record<string, any> }[];
        const containers = resources.filter((r) => r.type === "docker:index/container:Container");
        expect(containers).toHaveLength(6);
        expect(containers.every((c) => c.inputs.networkMode === "host")).toBe(true);
        expect(containers.every((c) => c.inputs.envs === "[secret]")).toBe(true);
        const ports = containers.map((c) => (c.inputs.entrypoints as string[]).find((e) => /^(NODE_PORT|SELF)=/.test(e))).sort();
        expect(ports).toEqual(["NODE_PORT=9851", "NODE_PORT=9852", "NODE_PORT=9853", "SELF=127.0.0.1:5000", "SELF=127.0.0.1:5001", "SELF=127.0.0.1:5002"]);
        const images = resources.filter((r) => r.type === "docker:index/remoteImage:RemoteImage").map((r) => r.inputs.name);
        expect(images.sort()).toEqual(["redis:7.2.12-alpine", "tile38/tile38:1.37.0"]);
    }, 60000);

    it("refuses a stack with quorum 7, naming quorum on stderr", () => {
        const file = path.join(root, "Pulumi.badquorum.yaml");
        fs.writeFileSync(file, fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8").replace('tile38-ha:quorum: "2"', 'tile38-ha:quorum: "7"'));
        try {
            const run = synth("badquorum");
            expect(run.status).toBe(1);
            expect(run.stdout).toBe("");
            expect(run.stderr).toMatch(/tile38-ha:quorum: 7 is above the number of sentinels/);
        } finally {
            fs.unlinkSync(file);
        }
    }, 60000);
});
