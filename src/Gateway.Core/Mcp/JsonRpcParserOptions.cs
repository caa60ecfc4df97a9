namespace Gateway.Mcp;

/// <summary>Bounds of <see cref="JsonRpcParser"/>, so a hostile body costs a bounded amount of work.</summary>
public sealed class JsonRpcParserOptions
{
    /// <summary>The default options.</summary>
    public static JsonRpcParserOptions Default { get; } = new();

    /// <summary>Largest body parsed, in bytes. Default 4 MiB: far above any tool call, far below what hurts.</summary>
    public int MaxBodyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// Deepest nesting of arrays and objects, the outermost counting as 1. Default 64: MCP messages nest 3-4 levels
    /// before the arguments, which leaves tool arguments ample room.
    /// </summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>Most messages in a batch (2025-03-26 allows batches). Default 100.</summary>
    public int MaxBatchSize { get; init; } = 100;
}
