/**
 * Passwords the start scripts would refuse at container start (lib.sh `check_password`) are
 * refused when the program runs, preview included, naming the argument, never the value.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { checkedPassword, PASSWORD_CHARACTERS, passwordProblem } from "../../../components/passwords";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const valueOf = (o: pulumi.Output<string>): Promise<string> => (o as any).promise();

describe("checkedPassword", () => {
    it("passes a password the scripts accept, still a secret", async () => {
        const o = checkedPassword("tile38Password", pulumi.output("Abc.123~+=@%^,:/-"));
        expect(await valueOf(o)).toBe("Abc.123~+=@%^,:/-");
        expect(await pulumi.isSecret(o)).toBe(true);
    });

    it.each(["with space", 'quo"te', "back\\slash", "dollar$", ""])("refuses %j without printing it", (bad) => {
        const problem = passwordProblem("sentinelPassword", bad);
        expect(problem).toMatch(/^tile38-ha: sentinelPassword (has characters the start scripts refuse|is empty)/);
        if (bad !== "") expect(problem).not.toContain(bad);
    });

    it("accepts exactly the characters lib.sh check_password accepts", () => {
        const lib = fs.readFileSync(path.join(__dirname, "../../../components/render/scripts/lib.sh"), "utf8");
        const allowed = /\*\[!([^\]]+)\]\*\) log "\$1 may only hold/.exec(lib)?.[1];
        expect(allowed).toBe("A-Za-z0-9._~+=@%^,:/-");
        expect(PASSWORD_CHARACTERS.source).toBe(`^[${allowed}]+$`);
    });
});
