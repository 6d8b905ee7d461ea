using MetaMae.Data.Dabs;

namespace MetaMae.Data;

/// <summary>
/// Where a run's dataset comes from, and the Table 8 preset that goes with it: a dataset shipped
/// in data/, a DABS dataset downloaded under a root folder, or the user's own file or folder.
/// The CLI and experiment plans both load through this, so all three work everywhere.
/// </summary>
public abstract record DataSource
{
    /// <summary>The dataset and its preset.</summary>
    public abstract (Dataset Data, Table8Row Preset) Load();
}

/// <summary>A dataset shipped in the data/ folder (<see cref="Catalog"/>); dataDir overrides where data/ is.</summary>
public sealed record ShippedSource(string Name, string? DataDir = null) : DataSource
{
    public override (Dataset, Table8Row) Load() => (Catalog.Load(Name, DataDir), Catalog.Get(Name).Preset);
}

/// <summary>A DABS dataset under a root folder (<see cref="DabsCatalog"/>).</summary>
public sealed record DabsSource(string Name, string Root, DabsOptions Options) : DataSource
{
    public override (Dataset, Table8Row) Load() => (DabsCatalog.Load(Name, Root, Options), DabsCatalog.Get(Name).Preset);
}

/// <summary>Your own data (<see cref="ByoData"/>), with the preset of the paper dataset nearest to its modality.</summary>
public sealed record OwnDataSource(string Path, ByoOptions Options) : DataSource
{
    public override (Dataset, Table8Row) Load() => (ByoData.Load(Path, Options), Table8.ForModality(Options.Modality));
}

/// <summary>A dataset already loaded (with its preset): a caller that read the data itself (to size a run by it) hands
/// it on without reading it again.</summary>
public sealed record PreloadedSource(Dataset Data, Table8Row Preset) : DataSource
{
    public override (Dataset, Table8Row) Load() => (Data, Preset);
}
