namespace MetaMae.Cli;

/// <summary>`metamae datasets`: the shipped datasets, or the DABS datasets under --root.</summary>
internal static class DatasetsCommand
{
    internal static Command Create()
    {
        var c = new Command("datasets", "List the datasets that ship with MetaMae, or with --root DIR the DABS datasets present under DIR");
        c.Add(DataDir);
        c.Add(DabsRoot);
        c.Add(Json);
        c.SetAction(p =>
        {
            if (p.GetValue(DabsRoot) is string dabsRoot) return ListDabs(p, dabsRoot);
            var table = new Table().AddColumn("name").AddColumn("modality").AddColumn("input").AddColumn("classes")
                .AddColumn("train").AddColumn("test").AddColumn("preset (as)").AddColumn("description");
            var arr = new JsonArray();
            foreach (var e in Catalog.Entries)
            {
                var ds = Catalog.Load(e.Name, p.GetValue(DataDir));
                table.AddRow(Markup.Escape(e.Name), Markup.Escape(e.Modality), Markup.Escape(ds.Spec.Describe()),
                    ds.ClassNames.Length.ToString(), ds.Train.Count.ToString(), (ds.Test?.Count ?? 0).ToString(),
                    Markup.Escape(e.Preset.PaperAnalogue), Markup.Escape(e.Description));
                arr.Add(new JsonObject
                {
                    ["name"] = e.Name, ["modality"] = e.Modality, ["input"] = ds.Spec.Describe(), ["classes"] = ds.ClassNames.Length,
                    ["train"] = ds.Train.Count, ["test"] = ds.Test?.Count ?? 0, ["paper_analogue"] = e.Preset.PaperAnalogue,
                });
            }
            if (p.GetValue(Json)) Console.WriteLine(arr.ToJsonString());
            else AnsiConsole.Write(table);
            return 0;
        });
        return c;
    }

    /// <summary>A shipped dataset, or with --root a downloaded DABS dataset.</summary>
    internal static int ListDabs(ParseResult p, string root)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"--root '{root}' does not exist");
        var table = new Table().AddColumn("name").AddColumn("modality").AddColumn("expected at").AddColumn("present").AddColumn("reader");
        var arr = new JsonArray();
        foreach (var e in DabsCatalog.Entries)
        {
            bool present = e.IsPresentUnder(root);
            table.AddRow(Markup.Escape(e.Name), Markup.Escape(e.Modality), Markup.Escape(e.RelativePath),
                present ? "yes" : "no",
                Markup.Escape(e.Reader));
            arr.Add(new JsonObject
            {
                ["name"] = e.Name, ["path"] = Path.Combine(root, e.RelativePath),
                ["present"] = present, ["reader"] = e.Reader,
            });
        }
        if (p.GetValue(Json)) Console.WriteLine(arr.ToJsonString());
        else AnsiConsole.Write(table);
        return 0;
    }
}
