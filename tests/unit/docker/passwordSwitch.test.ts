/**
 * The live password switch's pure parts: its rendered script and what its exit code means for
 * the `pulumi up`.
 */
import { passwordSwitchFailure, switchMountPath } from "../../../components/docker/passwordSwitch";
import { renderPasswordSwitchScript } from "../../../components/render/passwordSwitch";
import { dockerTopology } from "../../../components/render/topology";
import { parseStackConfig } from "../../../config";

const topo = () => dockerTopology(parseStackConfig({ target: "docker" }, { stack: "dev", platform: "linux" }).config);

describe("renderPasswordSwitchScript", () => {
    it("names every node and sentinel with its volume, and holds no password", () => {
        const t = topo();
        const script = renderPasswordSwitchScript(t, {
            nodeDirs: t.nodes.map((n) => switchMountPath(`${n.name}-data`)),
            sentinelDirs: t.sentinels.map((s) => switchMountPath(`${s.name}-data`)),
        });
        expect(script).toContain("TILE38_NODES='127.0.0.1:9851 127.0.0.1:9852 127.0.0.1:9853'");
        expect(script).toContain("SENTINELS='127.0.0.1:5000 127.0.0.1:5001 127.0.0.1:5002'");
        expect(script).toContain("SENTINEL_DIRS='/volumes/tile38-ha-dev-sentinel-1-data /volumes/tile38-ha-dev-sentinel-2-data /volumes/tile38-ha-dev-sentinel-3-data'");
        // The libraries are inlined; the passwords come from the environment only.
        expect(script).toContain("config_password() {");
        expect(script).not.toMatch(/^\. \.\//m);
        expect(script).not.toMatch(/(TILE38|SENTINEL)_PASSWORD='/);
    });

    it("refuses a directory list that does not match the topology", () => {
        const t = topo();
        expect(() => renderPasswordSwitchScript(t, { nodeDirs: ["/a"], sentinelDirs: ["/b", "/c", "/d"] })).toThrow(/3 nodes and 3 sentinels need as many directories \(got 1 and 3\)/);
        expect(() => renderPasswordSwitchScript(t, {})).toThrow(/no source of the old passwords/);
    });
});

describe("passwordSwitchFailure", () => {
    it("lets an update go on after a switch that exited 0 (or before it ran)", () => {
        expect(passwordSwitchFailure("geo-password-switch", 0, "ok")).toBeUndefined();
        expect(passwordSwitchFailure("geo-password-switch", undefined, undefined)).toBeUndefined();
    });

    it("stops it otherwise, with the end of the switch's log and how to run it again", () => {
        const logs = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`).join("\n");
        const failure = passwordSwitchFailure("geo-password-switch", 1, logs)!;
        expect(failure).toMatch(/container geo-password-switch\) exited 1: the running cluster is not on the new passwords/);
        expect(failure).toContain("line 12");
        expect(failure).toContain("line 5");
        expect(failure).not.toContain("line 4\n");
        expect(failure).toMatch(/pulumi up --replace/);
    });
});
