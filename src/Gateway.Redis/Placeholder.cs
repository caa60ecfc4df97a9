namespace Gateway.Redis; internal static class Placeholder { }
