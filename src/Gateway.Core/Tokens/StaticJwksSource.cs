using Microsoft.Extensions.Logging;

namespace Gateway.Tokens;

/// <summary>Keys fixed at construction: an issuer's <c>jwks_file</c>. A policy reload builds a new one, which re-reads the file.</summary>
public sealed partial class StaticJwksSource : IJwksSource
{
    private readonly IssuerKeySet _keys;

    public StaticJwksSource(IssuerKeySet keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = keys;
    }

    public IssuerKeySet Keys => _keys;

    /// <summary>
    /// Loads <paramref name="path"/>. Throws (<see cref="FormatException"/>, <see cref="IOException"/>) when the file
    /// is unreadable, not a JWKS, or has no usable key, so that a bad file stops a policy load rather than
    /// producing an issuer whose every token fails.
    /// </summary>
    public static StaticJwksSource FromFile(string issuer, string path, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(logger);
        IssuerKeySet keys;
        IReadOnlyList<string> skipped;
        try
        {
            keys = IssuerKeySet.Parse(File.ReadAllBytes(path), out skipped);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }

        foreach (var problem in skipped)
        {
            LogKeySkipped(logger, issuer, path, problem);
        }

        if (keys.Count == 0)
        {
            throw new FormatException($"{path}: the JWKS has no usable signing key (EC P-256, RSA of 2048+ bits, or Ed25519, with a kid)");
        }

        LogLoaded(logger, issuer, path, keys.Count);
        return new StaticJwksSource(keys);
    }

    public ValueTask<KeyLookup> FindKeyAsync(string keyId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_keys.TryGetKey(keyId, out var key) ? KeyLookup.Found(key) : KeyLookup.Unknown);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Issuer {Issuer}: JWKS file {Path}: {Problem}")]
    private static partial void LogKeySkipped(ILogger logger, string issuer, string path, string problem);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Issuer {Issuer}: loaded {KeyCount} signing keys from {Path}")]
    private static partial void LogLoaded(ILogger logger, string issuer, string path, int keyCount);
}
