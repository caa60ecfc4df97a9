using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Gateway.Policy;

namespace Gateway.Telemetry;

/// <summary>
/// Turns a token's <c>sub</c> into the <c>enduser.id</c> that telemetry carries. Traces and metrics
/// travel to places with wider access than the audit log, so by default they get a pseudonym: the
/// same user always gets the same value (an analyst can follow one user across traces) but the value
/// does not say who it is.
/// </summary>
/// <remarks>
/// <para>
/// With a key (<see cref="KeyEnvironmentVariable"/>), the pseudonym is HMAC-SHA256(key, sub): without
/// the key nobody can compute it from a list of candidate users, and an analyst who holds the key can
/// compute one user's value to search for. Without a key it is SHA-256 of a fixed prefix and the sub,
/// which hides the sub from a casual reader only: anyone can hash a directory of e-mail addresses and
/// compare, so set a key in production.
/// </para>
/// <para>
/// The digest is cut to 128 bits (32 hex digits): collisions stay out of reach (about 2^64 users
/// before one is likely), guessing is no easier (that depends on the sub, not the length), and the
/// attribute stays short on every span.
/// </para>
/// </remarks>
public sealed class SubjectHasher
{
    /// <summary>The environment variable holding the pseudonym key (any secret text, 32+ bytes advised).</summary>
    public const string KeyEnvironmentVariable = "GATEWAY_TELEMETRY_SUBJECT_KEY";

    /// <summary>Hex digits of a pseudonym.</summary>
    public const int Length = 32;

    private const int StackLimit = 256;

    // Keeps unkeyed values apart from a bare SHA-256 of the same sub stored elsewhere, so two data sets
    // cannot be joined on it by accident.
    private static readonly byte[] UnkeyedPrefix = "gateway.enduser.id\n"u8.ToArray();

    private readonly byte[]? _key;
    private readonly ConditionalWeakTable<string, string> _pseudonyms = [];

    /// <param name="rawSubject"><c>telemetry.raw_subject</c>: telemetry carries the sub as it is.</param>
    /// <param name="key">The HMAC key, or null for the unkeyed SHA-256 form.</param>
    public SubjectHasher(bool rawSubject = false, ReadOnlySpan<byte> key = default)
    {
        RawSubject = rawSubject;
        _key = key.IsEmpty ? null : key.ToArray();
    }

    /// <summary>True when <see cref="ForTelemetry"/> returns the sub itself.</summary>
    public bool RawSubject { get; }

    /// <summary>True when pseudonyms are keyed (HMAC).</summary>
    public bool IsKeyed => _key is not null;

    /// <summary>
    /// From the policy's <c>telemetry</c> section and the key in <see cref="KeyEnvironmentVariable"/>, if set.
    /// Secrets come from the environment, never from the policy file.
    /// </summary>
    public static SubjectHasher Create(TelemetrySettings settings, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var key = (environment ?? Environment.GetEnvironmentVariable)(KeyEnvironmentVariable);
        return new SubjectHasher(settings.RawSubject, string.IsNullOrEmpty(key) ? default : Encoding.UTF8.GetBytes(key));
    }

    /// <summary>The value for <c>enduser.id</c>: the sub when <see cref="RawSubject"/>, else <see cref="Pseudonymize"/>.</summary>
    public string ForTelemetry(string subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        if (RawSubject)
        {
            return subject;
        }

        // A cached token hands out the same sub string on every call: hash it once for as long as it lives.
        if (!_pseudonyms.TryGetValue(subject, out var pseudonym))
        {
            pseudonym = Pseudonymize(subject);
            _pseudonyms.AddOrUpdate(subject, pseudonym);
        }

        return pseudonym;
    }

    /// <summary>The pseudonym of <paramref name="subject"/>: 32 lowercase hex digits, never the sub itself.</summary>
    public string Pseudonymize(string subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        var prefix = _key is null ? UnkeyedPrefix.Length : 0;
        var size = prefix + Encoding.UTF8.GetMaxByteCount(subject.Length);
        byte[]? rented = null;
        var buffer = size <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(size));
        try
        {
            UnkeyedPrefix.AsSpan(0, prefix).CopyTo(buffer);
            var length = prefix + Encoding.UTF8.GetBytes(subject, buffer[prefix..]);
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            if (_key is null)
            {
                SHA256.HashData(buffer[..length], digest);
            }
            else
            {
                HMACSHA256.HashData(_key, buffer[..length], digest);
            }

            return Convert.ToHexStringLower(digest[..(Length / 2)]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented, clearArray: true);
            }
        }
    }
}
