using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Budgets;

/// <summary>
/// Guards a remote store on the hot path: every call gets a tight timeout, and a circuit breaker stops
/// calling a store that keeps failing so requests are refused at once instead of each waiting out the
/// timeout. Whatever goes wrong surfaces as <see cref="BudgetStoreUnavailableException"/>, so callers
/// handle one type and never see a client library's own exceptions.
/// </summary>
/// <remarks>
/// <para>
/// There is deliberately no retry. A charge is not idempotent: when a reply is lost the charge may
/// already have been applied, and sending it again would charge twice. A retry would also only stretch
/// how long a request waits; the caller refuses with 503 and the agent retries the whole call.
/// </para>
/// <para>
/// Written out rather than built from a resilience library's pipeline: a charge runs on every request,
/// and with the circuit closed it costs one read of the state, one shared timeout token
/// (<see cref="StoreTimeouts"/>) and two counters, where a general pipeline ran four nested async
/// strategies and a cancellation source with its own timer per call (about 2 us of CPU per request
/// in the load harness's profile).
/// </para>
/// </remarks>
public sealed partial class ResilientBudgetStore : IBudgetStore
{
    private readonly IBudgetStore _inner;
    private readonly StoreCircuit _circuit;
    private readonly StoreTimeouts _timeouts;
    private readonly TimeSpan _timeout;

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
        var time = timeProvider ?? TimeProvider.System;
        _circuit = new StoreCircuit(options, time, (ILogger?)logger ?? NullLogger.Instance);
        _timeouts = new StoreTimeouts(options.Timeout, time);
    }

    public ValueTask<BudgetResult> ChargeAsync(BudgetCharge charge, CancellationToken cancellationToken)
    {
        var trial = Enter();
        var call = Start(cancellationToken, out var linked);
        ValueTask<BudgetResult> pending;
        try
        {
            pending = _inner.ChargeAsync(charge, call.Token);
        }
        catch (Exception ex)
        {
            linked?.Dispose();
            var failure = Failed(ex, trial, call, cancellationToken);
            if (ReferenceEquals(failure, ex))
            {
                throw;
            }

            throw failure;
        }

        if (pending.IsCompletedSuccessfully)
        {
            linked?.Dispose();
            _circuit.Succeeded(trial);
            return pending;
        }

        return AwaitCharge(pending, trial, call, linked, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<BudgetResult> AwaitCharge(ValueTask<BudgetResult> pending, bool trial, CallTimeout call, CancellationTokenSource? linked, CancellationToken cancellationToken)
    {
        try
        {
            var result = await pending;
            _circuit.Succeeded(trial);
            return result;
        }
        catch (Exception ex)
        {
            var failure = Failed(ex, trial, call, cancellationToken);
            if (ReferenceEquals(failure, ex))
            {
                throw;
            }

            throw failure;
        }
        finally
        {
            linked?.Dispose();
        }
    }

    public async ValueTask<BudgetSnapshot> GetAsync(string subject, string agent, string? jti, CancellationToken cancellationToken)
    {
        var trial = Enter();
        var call = Start(cancellationToken, out var linked);
        try
        {
            var snapshot = await _inner.GetAsync(subject, agent, jti, call.Token);
            _circuit.Succeeded(trial);
            return snapshot;
        }
        catch (Exception ex)
        {
            var failure = Failed(ex, trial, call, cancellationToken);
            if (ReferenceEquals(failure, ex))
            {
                throw;
            }

            throw failure;
        }
        finally
        {
            linked?.Dispose();
        }
    }

    /// <summary>
    /// False while the circuit is open, without touching the store. Otherwise the ping goes through the
    /// breaker like any call, so a failed ping counts against the store and, once the break is over,
    /// a successful one (from <c>/readyz</c> polling, say) closes the circuit again.
    /// </summary>
    public async ValueTask<bool> PingAsync(CancellationToken cancellationToken)
    {
        if (!_circuit.TryEnter(out var trial, out _))
        {
            return false;
        }

        var call = Start(cancellationToken, out var linked);
        try
        {
            var up = await _inner.PingAsync(call.Token);
            if (up)
            {
                _circuit.Succeeded(trial);
            }
            else
            {
                _circuit.Failed(trial, "ping failed");
            }

            return up;
        }
        catch (Exception ex) when (Failed(ex, trial, call, cancellationToken) is BudgetStoreUnavailableException)
        {
            return false;
        }
        finally
        {
            linked?.Dispose();
        }
    }

    private bool Enter()
    {
        if (!_circuit.TryEnter(out var trial, out var retryAfter))
        {
            throw new BudgetStoreUnavailableException("The budget store failed repeatedly; calls to it are suspended for a short while.")
            {
                RetryAfter = retryAfter,
            };
        }

        return trial;
    }

    // The caller's own token is linked only when it can be cancelled: the gateway's charges pass none, so
    // their wait is bounded by the shared timeout token alone, without a cancellation source per call.
    private CallTimeout Start(CancellationToken cancellationToken, out CancellationTokenSource? linked)
    {
        var timeout = _timeouts.Current();
        if (!cancellationToken.CanBeCanceled)
        {
            linked = null;
            return new CallTimeout(timeout, timeout);
        }

        linked = CancellationTokenSource.CreateLinkedTokenSource(timeout, cancellationToken);
        return new CallTimeout(linked.Token, timeout);
    }

    /// <summary>
    /// What the caller gets for a failed call, counted against the store when it is the store's failure
    /// (it failed, or it did not answer in time); a caller's cancellation or an argument error passes as
    /// it is and counts for nothing.
    /// </summary>
    private Exception Failed(Exception exception, bool trial, CallTimeout call, CancellationToken cancellationToken)
    {
        switch (exception)
        {
            case BudgetStoreUnavailableException:
                _circuit.Failed(trial, exception.GetType().Name);
                return exception;
            case OperationCanceledException when call.Timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested:
                _circuit.Failed(trial, "timeout");
                return new BudgetStoreUnavailableException($"The budget store did not answer within {_timeout.TotalMilliseconds} ms.", exception);
            default:
                _circuit.Abandoned(trial);
                return exception;
        }
    }

    private readonly record struct CallTimeout(CancellationToken Token, CancellationToken Timeout);
}
