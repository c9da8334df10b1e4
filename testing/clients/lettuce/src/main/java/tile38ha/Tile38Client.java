package tile38ha;

import io.lettuce.core.RedisURI;
import java.time.Duration;

/** The Lettuce client as docs/clients.md shows it: redis-sentinel URI, passwords via setAuthentication. */
public final class Tile38Client {
    private Tile38Client() {}

    public static RedisURI uri(String sentinels, String masterName, String tile38Password, String sentinelPassword) {
        RedisURI uri = RedisURI.create("redis-sentinel://" + sentinels + "#" + masterName);
        uri.setAuthentication(tile38Password.toCharArray());                               // Tile38
        uri.getSentinels().forEach(s -> s.setAuthentication(sentinelPassword.toCharArray())); // sentinels
        uri.setTimeout(Duration.ofSeconds(1));
        return uri;
    }
}
