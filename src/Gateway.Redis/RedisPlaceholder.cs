namespace Gateway.Redis; internal static class RedisPlaceholder { }
