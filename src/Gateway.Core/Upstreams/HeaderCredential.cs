using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.Extensions.Logging;

namespace Gateway.Upstreams;

/// <summary><c>auth.header</c>: a static header whose value comes from a secret file or an environment variable.</summary>
internal sealed class HeaderCredential : UpstreamCredential
{
    private readonly HeaderAuthSettings _settings;
    private readonly SecretFile? _file;
    private readonly string? _environmentValue;

    public HeaderCredential(string upstream, HeaderAuthSettings settings, TimeProvider time, ILogger logger, TimeSpan? pollInterval)
        : base(upstream, settings)
    {
        _settings = settings;
        if (settings.ValueFile is { } file)
        {
            _file = new SecretFile(file, upstream, time, logger, pollInterval);
            Id = "file:" + _file.Name;
        }
        else
        {
            // Read once: a process's environment does not change under it.
            _environmentValue = Environment.GetEnvironmentVariable(settings.ValueEnv!)?.Trim();
            Id = "env:" + settings.ValueEnv;
        }
    }

    public override string Id { get; }

    public override string? Problem => Check(Value).Problem;

    private string? Value => _file is null ? _environmentValue : _file.Value;

    public override ValueTask<CredentialResult> GetAsync(CapabilityToken? token, CancellationToken cancellationToken)
    {
        var (value, problem) = Check(Value);
        if (problem is not null)
        {
            return ValueTask.FromResult(CredentialResult.Unavailable(problem, SecretFile.DefaultPollInterval));
        }

        return ValueTask.FromResult(CredentialResult.Header(_settings.Name, value!));
    }

    private (string? Value, string? Problem) Check(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return (null, _file?.Problem ?? $"environment variable '{_settings.ValueEnv}' is not set");
        }

        // A line break would end the header and start another one of the file's choosing.
        return value.AsSpan().ContainsAny('\r', '\n', '\0')
            ? (null, $"the value for header '{_settings.Name}' ({Id}) holds a line break")
            : (value, null);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file?.Dispose();
        }

        base.Dispose(disposing);
    }
}
