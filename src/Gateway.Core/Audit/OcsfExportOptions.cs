namespace Gateway.Audit;

/// <summary>What <see cref="OcsfExporter"/> says about the product that produced the events.</summary>
public sealed record OcsfExportOptions
{
    /// <summary><c>metadata.product.vendor_name</c>. Default <c>Gateway</c>; set it to the organisation running the gateway.</summary>
    public string VendorName { get; init; } = "Gateway";

    /// <summary><c>metadata.product.version</c>; omitted when null. Default the Gateway.Core assembly version.</summary>
    public string? ProductVersion { get; init; } = typeof(OcsfExporter).Assembly.GetName().Version?.ToString(3);
}
