using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.Extensions.Logging;

namespace Gateway.Upstreams;

/// <summary><c>auth.header</c>: a static header whose value comes from a secret file or an environment variable.</summary>
internal sealed class HeaderCredential : UpstreamCredential
{
    private readonly HeaderAuthSettings _settings;
    private readonly SecretFile? _file;
    private readonly ILogger _logger;
    private volatile HeaderState _state;

    public HeaderCredential(string upstream, HeaderAuthSettings settings, TimeProvider time, ILogger logger, TimeSpan? pollInterval)
        : base(upstream, settings)
    {
        _settings = settings;
        _logger = logger;
        if (settings.ValueFile is { } file)
        {
            _file = new SecretFile(file, upstream, time, logger, pollInterval);
            Id = "file:" + _file.Name;
            _state = Load(_file.Value);
            _file.Changed += () => _state = Load(_file.Value);
        }
        else
        {
            // Read once: a process's environment does not change under it.
            Id = "env:" + settings.ValueEnv;
            _state = Load(Environment.GetEnvironmentVariable(settings.ValueEnv!)?.Trim());
        }
    }

    public override string Id { get; }

    public override string? Problem => _state.Problem;

    public override ValueTask<CredentialResult> GetAsync(CapabilityToken? token, CancellationToken cancellationToken)
    {
        var state = _state;
        return ValueTask.FromResult(state.Value is { } value
            ? CredentialResult.Header(_settings.Name, value)
            : CredentialResult.Unavailable(state.Problem!, SecretFile.DefaultPollInterval));
    }

    private HeaderState Load(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return new HeaderState(null, _file?.Problem ?? $"environment variable '{_settings.ValueEnv}' is not set");
        }

        // A line break would end the header and start another one of the file's choosing.
        if (value.AsSpan().ContainsAny('\r', '\n', '\0'))
        {
            var problem = $"the value for header '{_settings.Name}' ({Id}) holds a line break";
            if (_state?.Value is not null)
            {
                SecretFile.LogUnusable(_logger, Upstream, problem);
                return _state;
            }

            return new HeaderState(null, problem);
        }

        return new HeaderState(value, null);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file?.Dispose();
        }

        base.Dispose(disposing);
    }

    private sealed record HeaderState(string? Value, string? Problem);
}
