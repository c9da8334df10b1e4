package tile38ha;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.ProtocolKeyword;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Writes one Tile38 point every INTERVAL_MS through the sentinels with Lettuce and prints one JSON
 * line per write: {"ack": id, "sent": ms, "at": ms} or {"err": message, "sent": ms, "at": ms}.
 * Environment: SENTINELS (host:port,...), MASTER_NAME, TILE38_PASSWORD, SENTINEL_PASSWORD,
 * INTERVAL_MS (10), PREFIX, KEY ("fleet"). Stops on SIGTERM.
 */
public final class Writer {
    /** Tile38's SET is not Redis' SET: send it as a raw command. */
    enum Tile38 implements ProtocolKeyword {
        SET;
        public byte[] getBytes() { return name().getBytes(StandardCharsets.US_ASCII); }
    }

    private static String env(String k, String def) {
        String v = System.getenv(k);
        return v == null || v.isEmpty() ? def : v;
    }

    private static String json(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ").replace("\r", " ") + "\"";
    }

    public static void main(String[] a) throws Exception {
        int interval = Integer.parseInt(env("INTERVAL_MS", "10"));
        String prefix = env("PREFIX", "lt");
        String key = env("KEY", "fleet");
        RedisURI uri = Tile38Client.uri(System.getenv("SENTINELS"), System.getenv("MASTER_NAME"), System.getenv("TILE38_PASSWORD"), env("SENTINEL_PASSWORD", ""));
        RedisClient client = RedisClient.create(uri);
        AtomicBoolean running = new AtomicBoolean(true);
        Thread main = Thread.currentThread();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            running.set(false);
            try { main.join(3000); } catch (InterruptedException e) { /* exit */ }
        }));
        StatefulRedisConnection<String, String> conn = null;
        for (long seq = 1; running.get(); seq++) {
            String id = prefix + seq;
            long sent = System.currentTimeMillis();
            String out;
            try {
                if (conn == null) conn = client.connect(StringCodec.UTF8);
                double lat = 33 + (seq % 1000) / 1000.0, lon = -112 + (seq % 997) / 1000.0;
                CommandArgs<String, String> args = new CommandArgs<>(StringCodec.UTF8).addKey(key).addValue(id).add("POINT").add(Double.toString(lat)).add(Double.toString(lon));
                conn.sync().dispatch(Tile38.SET, new StatusOutput<>(StringCodec.UTF8), args);
                out = "{\"ack\":" + json(id) + ",\"sent\":" + sent + ",\"at\":" + System.currentTimeMillis() + "}";
            } catch (Exception e) {
                out = "{\"err\":" + json(e.getClass().getSimpleName() + ": " + e.getMessage()) + ",\"sent\":" + sent + ",\"at\":" + System.currentTimeMillis() + "}";
            }
            System.out.println(out);
            System.out.flush();
            long wait = sent + interval - System.currentTimeMillis();
            if (wait > 0) Thread.sleep(wait);
        }
        if (conn != null) conn.close();
        client.shutdown(java.time.Duration.ZERO, java.time.Duration.ofSeconds(1));
    }
}
