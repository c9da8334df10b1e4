/**
 * README "Connecting clients": every snippet marked `<!-- snippet: PATH -->` is exactly the file
 * PATH, which the client matrix builds and runs against the real servers with the pinned client
 * version (tests/integration/clients.test.ts). So a README snippet cannot drift from code that runs.
 */
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");
const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

function snippets(): { file: string; body: string }[] {
    const re = /<!-- snippet: (\S+) -->\n```\w+\n([\s\S]*?)\n```/g;
    return [...README.matchAll(re)].map((m) => ({ file: m[1], body: m[2] }));
}

describe("README client snippets", () => {
    it("show one snippet per client of the matrix", () => {
        expect(snippets().map((s) => s.file).filter((f) => f.startsWith("testing/clients/"))).toEqual([
            "testing/clients/ioredis/tile38Client.ts",
            "testing/clients/redis-py/tile38_sentinel.py",
            "testing/clients/go-redis/client.go",
            "testing/clients/lettuce/src/main/java/tile38ha/Tile38Client.java",
        ]);
    });

    it("show every example program of the package (README \"Use it from your program\")", () => {
        expect(snippets().map((s) => s.file).filter((f) => f.startsWith("examples/"))).toEqual([
            "examples/docker-typescript/index.ts",
            "examples/kubernetes-typescript/index.ts",
            "examples/python/__main__.py",
            "examples/yaml/Pulumi.yaml",
        ]);
    });

    it.each(snippets())("$file is the file, verbatim", ({ file, body }) => {
        expect(body).toBe(fs.readFileSync(path.join(ROOT, file), "utf8").replace(/\n+$/, ""));
    });

    it("pins the versions the install script and the client projects pin", () => {
        const install = fs.readFileSync(path.join(ROOT, "scripts/install-clients.sh"), "utf8");
        expect(install).toMatch(/^REDIS_PY=5\.2\.1$/m);
        expect(install).toMatch(/^GO_REDIS=v9\.17\.2$/m);
        expect(install).toMatch(/^LETTUCE=7\.7\.0\.RELEASE$/m);
        expect(fs.readFileSync(path.join(ROOT, "testing/clients/go-redis/go.mod"), "utf8")).toMatch(/github\.com\/redis\/go-redis\/v9 v9\.17\.2/);
        expect(fs.readFileSync(path.join(ROOT, "testing/clients/lettuce/pom.xml"), "utf8")).toContain("<version>7.7.0.RELEASE</version>");
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
        expect(pkg.devDependencies.ioredis).toBe("5.8.2");
        expect(README).toContain("Lettuce 7.7.0");
        expect(README).not.toMatch(/\.setPassword\(\w+\./); // a call: gone in Lettuce 7
    });
});
