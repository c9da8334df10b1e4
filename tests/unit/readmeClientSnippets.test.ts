/**
 * The documentation's snippets: every snippet marked `<!-- snippet: PATH -->` in the README or
 * docs/ is exactly the file PATH, which runs: the clients with their pinned versions against the
 * real servers (tests/integration/clients.test.ts), the example programs from the packed tarball
 * (tests/unit/packageConsumers.test.ts, tests/deploy/packageConsumers.test.ts, the k8s suite's l).
 * So no snippet can drift from code that runs.
 */
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");
const read = (doc: string) => fs.readFileSync(path.join(ROOT, doc), "utf8");

function snippets(doc = "README.md"): { file: string; body: string }[] {
    const re = /<!-- snippet: (\S+) -->\n```\w+\n([\s\S]*?)\n```/g;
    return [...read(doc).matchAll(re)].map((m) => ({ file: m[1], body: m[2] }));
}
const DOCS = ["README.md", "docs/clients.md", "docs/using.md"];
const allSnippets = () => DOCS.flatMap((doc) => snippets(doc).map((s) => ({ ...s, doc })));

describe("documentation snippets", () => {
    it("docs/clients.md shows one snippet per client of the matrix", () => {
        expect(snippets("docs/clients.md").map((s) => s.file)).toEqual([
            "testing/clients/ioredis/tile38Client.ts",
            "testing/clients/redis-py/tile38_sentinel.py",
            "testing/clients/go-redis/client.go",
            "testing/clients/lettuce/src/main/java/tile38ha/Tile38Client.java",
        ]);
    });

    it("docs/using.md shows every example program of the package, the README the TypeScript one", () => {
        expect(snippets("docs/using.md").map((s) => s.file)).toEqual([
            "examples/docker-typescript/index.ts",
            "examples/kubernetes-typescript/index.ts",
            "examples/python/__main__.py",
            "examples/yaml/Pulumi.yaml",
        ]);
        expect(snippets().map((s) => s.file)).toEqual(["examples/docker-typescript/index.ts"]);
    });

    it.each(allSnippets())("$doc: $file is the file, verbatim", ({ file, body }) => {
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
        const clients = read("docs/clients.md");
        expect(clients).toContain("Lettuce 7.7.0");
        for (const doc of [...DOCS, "docs/kubernetes.md"]) expect(read(doc)).not.toMatch(/\.setPassword\(\w+\.|withPassword/); // gone in Lettuce 7
    });
});
