/** `npm run drill` arguments, including the client matrix's `--clients [--scenarios …]`. */
import { parseDrillArgs } from "../../../testing/scenarios/drill";

describe("parseDrillArgs", () => {
    it("defaults to the ioredis drill on the docker target, every scenario listed for --clients", () => {
        expect(parseDrillArgs([])).toMatchObject({ kills: 5, json: false, target: "docker", clients: false, scenarios: ["kill", "kills", "freeze", "hand-over", "rolling"] });
    });

    it("takes --clients with a subset of scenarios", () => {
        expect(parseDrillArgs(["--clients", "--scenarios", "freeze,hand-over", "--json"])).toMatchObject({ clients: true, json: true, scenarios: ["freeze", "hand-over"] });
    });

    it("refuses an unknown scenario and --clients on kubernetes, naming the fix", () => {
        expect(() => parseDrillArgs(["--clients", "--scenarios", "kill,nap"])).toThrow(/unknown nap \(known: kill, kills, freeze, hand-over, rolling\)/);
        expect(() => parseDrillArgs(["--clients", "--target", "kubernetes"])).toThrow(/--clients runs the docker \(dev\) topology only/);
    });

    it("takes --partitions with a subset of its scenarios, and refuses mixing modes", () => {
        expect(parseDrillArgs(["--partitions"])).toMatchObject({ partitions: true, partitionScenarios: ["isolated", "from-sentinels", "from-followers", "one-sentinel", "flapping"] });
        expect(parseDrillArgs(["--partitions", "--scenarios", "flapping,isolated"])).toMatchObject({ partitions: true, partitionScenarios: ["flapping", "isolated"] });
        expect(() => parseDrillArgs(["--partitions", "--scenarios", "kill"])).toThrow(/unknown kill \(known: isolated, from-sentinels/);
        expect(() => parseDrillArgs(["--partitions", "--clients"])).toThrow(/do not go together/);
        expect(() => parseDrillArgs(["--scenarios", "kill"])).toThrow(/goes with --clients or --partitions/);
        expect(parseDrillArgs(["--partitions"])).toMatchObject({ target: "kubernetes" });
        expect(parseDrillArgs(["--partitions", "--target", "kubernetes"])).toMatchObject({ partitions: true, target: "kubernetes" });
        expect(() => parseDrillArgs(["--partitions", "--stack", "dev"])).toThrow(/takes no --stack/);
    });

    it("takes --cascade with points, spacings, faults and a record file, and refuses bad values naming the fix", () => {
        expect(parseDrillArgs(["--cascade"])).toMatchObject({ cascade: true, points: 0, spacings: [0, 2, 5, 10, 20, 40], faults: ["kill"] });
        expect(parseDrillArgs(["--cascade", "--points", "1000000", "--spacings", "5,10", "--faults", "kill,freeze", "--record", "docs/figures/x.md", "--json"])).toMatchObject({
            cascade: true,
            points: 1000000,
            spacings: [5, 10],
            faults: ["kill", "freeze"],
            record: "docs/figures/x.md",
            json: true,
        });
        expect(() => parseDrillArgs(["--cascade", "--spacings", "5,x"])).toThrow(/--spacings must be whole seconds from 0 to 600/);
        expect(() => parseDrillArgs(["--cascade", "--faults", "kill,nap"])).toThrow(/--faults: unknown nap \(known: kill, freeze, cut\)/);
        expect(() => parseDrillArgs(["--cascade", "--points", "-1"])).toThrow(/--points must be a whole number/);
        expect(() => parseDrillArgs(["--points", "10"])).toThrow(/--points goes with --cascade/);
        expect(() => parseDrillArgs(["--record", "x.md"])).toThrow(/--record goes with --cascade/);
        expect(() => parseDrillArgs(["--cascade", "--clients"])).toThrow(/--cascade does not go with --clients or --partitions/);
        expect(parseDrillArgs(["--cascade", "--compaction-ratio", "2"])).toMatchObject({ cascade: true, compactionRatio: 2 });
        expect(() => parseDrillArgs(["--cascade", "--compaction-ratio", "1"])).toThrow(/0 \(off\) or a whole number from 2/);
        expect(() => parseDrillArgs(["--cascade", "--stack", "dev", "--compaction-ratio", "2"])).toThrow(/--compaction-ratio goes with --cascade on a cluster of its own/);
        expect(() => parseDrillArgs(["--compaction-ratio", "2"])).toThrow(/--compaction-ratio goes with --cascade/);
    });
});
