using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Gateway.Budgets;

/// <summary>
/// Guards a remote store on the hot path: every call gets a tight timeout, and a circuit breaker stops
/// calling a store that keeps failing so requests are refused at once instead of each waiting out the
/// timeout. Whatever goes wrong surfaces as <see cref="BudgetStoreUnavailableException"/>, so callers
/// handle one type and never see a client library's own exceptions.
/// </summary>
/// <remarks>
/// There is deliberately no retry. A charge is not idempotent: when a reply is lost the charge may
/// already have been applied, and sending it again would charge twice. A retry would also only stretch
/// how long a request waits; the caller refuses with 503 and the agent retries the whole call.
/// </remarks>
public sealed partial class ResilientBudgetStore : IBudgetStore
{
    private readonly IBudgetStore _inner;
    private readonly ResiliencePipeline _pipeline;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;

    public ResilientBudgetStore(
        IBudgetStore inner,
        BudgetStoreOptions? options = null,
        ILogger<ResilientBudgetStore>? logger = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        options ??= new BudgetStoreOptions();
        options.Validate();
        _inner = inner;
        _timeout = options.Timeout;
        _logger = (ILogger?)logger ?? NullLogger.Instance;

        // The breaker is added first so it is the outer strategy and counts timeouts as failures.
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider ?? TimeProvider.System }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = options.FailureRatio,
                MinimumThroughput = options.MinimumThroughput,
                SamplingDuration = options.SamplingDuration,
                BreakDuration = options.BreakDuration,
                ShouldHandle = static args => ValueTask.FromResult(IsStoreFailure(args.Outcome)),
                OnOpened = args =>
                {
                    LogCircuitOpened(_logger, args.BreakDuration, args.Outcome.Exception?.GetType().Name ?? "ping failed");
                    return ValueTask.CompletedTask;
                },
                OnHalfOpened = _ =>
                {
                    LogCircuitHalfOpened(_logger);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    LogCircuitClosed(_logger);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(options.Timeout)
            .Build();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<BudgetResult> ChargeAsync(BudgetCharge charge, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(
                static (state, ct) => state.Inner.ChargeAsync(state.Charge, ct),
                (Inner: _inner, Charge: charge),
                cancellationToken);
        }
        catch (Exception ex) when (Translate(ex) is { } unavailable)
        {
            throw unavailable;
        }
    }

    public async ValueTask<BudgetSnapshot> GetAsync(string subject, string agent, string? jti, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(
                static (state, ct) => state.Inner.GetAsync(state.Subject, state.Agent, state.Jti, ct),
                (Inner: _inner, Subject: subject, Agent: agent, Jti: jti),
                cancellationToken);
        }
        catch (Exception ex) when (Translate(ex) is { } unavailable)
        {
            throw unavailable;
        }
    }

    /// <summary>
    /// False while the circuit is open, without touching the store. Otherwise the ping goes through the
    /// breaker like any call, so a failed ping counts against the store and, once the break is over,
    /// a successful one (from <c>/readyz</c> polling, say) closes the circuit again.
    /// </summary>
    public async ValueTask<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(static (inner, ct) => inner.PingAsync(ct), _inner, cancellationToken);
        }
        catch (Exception ex) when (ex is BudgetStoreUnavailableException || Translate(ex) is not null)
        {
            return false;
        }
    }

    private static bool IsStoreFailure(Outcome<object> outcome) =>
        outcome.Exception is BudgetStoreUnavailableException or TimeoutRejectedException
        || outcome.Result is false;

    // Only the pipeline's own refusals are translated: the store already throws BudgetStoreUnavailableException
    // for its failures, and a caller's cancellation or argument errors pass as they are.
    private BudgetStoreUnavailableException? Translate(Exception exception) => exception switch
    {
        TimeoutRejectedException => new BudgetStoreUnavailableException(
            $"The budget store did not answer within {_timeout.TotalMilliseconds} ms.", exception),
        BrokenCircuitException broken => new BudgetStoreUnavailableException(
            "The budget store failed repeatedly; calls to it are suspended for a short while.", exception)
        {
            RetryAfter = broken.RetryAfter,
        },
        _ => null,
    };

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Budget store circuit opened for {BreakDuration} after repeated failures (last: {Failure}); calls are refused until it is tried again.")]
    private static partial void LogCircuitOpened(ILogger logger, TimeSpan breakDuration, string failure);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Budget store circuit half-open; the next call tries the store.")]
    private static partial void LogCircuitHalfOpened(ILogger logger);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Budget store circuit closed; the store answers again.")]
    private static partial void LogCircuitClosed(ILogger logger);
}
