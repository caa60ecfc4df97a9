using System.ComponentModel.DataAnnotations;

namespace Gateway.Revocation;

/// <summary>Options of the revocation stores.</summary>
public sealed record RevocationStoreOptions
{
    /// <summary>
    /// Redis store only: prefix of every key and of the announcement channel. Default <c>gw:</c>, the budget
    /// store's too; the names cannot collide (see docs/revocation.md).
    /// </summary>
    [Required]
    public string KeyPrefix { get; init; } = "gw:";

    /// <summary>Redis store only: rules fetched per <c>MGET</c> when listing. Default 1,000.</summary>
    [Range(1, 100_000)]
    public int ListBatchSize { get; init; } = 1_000;

    /// <summary>Throws <see cref="ValidationException"/> when a value is out of its range.</summary>
    public void Validate() => Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
}
