using Microsoft.VisualBasic.FileIO;

namespace MetaMae.Data;

/// <summary>Thrown for malformed input data; the message names the file, line and field.</summary>
public sealed class DataFormatException(string message) : Exception(message);

/// <summary>An RFC 4180 CSV table with a header row, read with .NET's TextFieldParser.</summary>
public sealed class CsvTable
{
    public string Path { get; }
    public string[] Header { get; }
    /// <summary>Rows with the 1-based line number each started on.</summary>
    public List<(long Line, string[] Fields)> Rows { get; } = [];

    private CsvTable(string path, string[] header) { Path = path; Header = header; }

    public static CsvTable Read(string path)
    {
        if (!File.Exists(path)) throw new DataFormatException($"{path}: file not found");
        using var p = new TextFieldParser(path)
        {
            TextFieldType = FieldType.Delimited, HasFieldsEnclosedInQuotes = true, TrimWhiteSpace = false,
        };
        p.SetDelimiters(",");
        string[]? header;
        try { header = p.ReadFields(); }
        catch (MalformedLineException e) { throw new DataFormatException($"{path}:{e.LineNumber}: malformed CSV header ({e.Message})"); }
        if (header is null || header.Length == 0) throw new DataFormatException($"{path}: empty file, expected a header row");
        if (header.Length > 0 && header[0].Length > 0 && header[0][0] == '\uFEFF') header[0] = header[0][1..];
        var t = new CsvTable(path, header);
        while (!p.EndOfData)
        {
            long line = p.LineNumber;
            string[]? f;
            try { f = p.ReadFields(); }
            catch (MalformedLineException e) { throw new DataFormatException($"{path}:{e.LineNumber}: malformed CSV line ({e.Message})"); }
            if (f is null) continue;
            if (f.Length == 1 && f[0].Length == 0) continue;                      // blank line
            if (f.Length != header.Length)
                throw new DataFormatException($"{path}:{line}: expected {header.Length} fields " +
                    $"({string.Join(",", header)}), found {f.Length}");
            t.Rows.Add((line, f));
        }
        if (t.Rows.Count == 0) throw new DataFormatException($"{path}: no data rows after the header");
        return t;
    }

    public int Column(string name)
    {
        int i = Array.IndexOf(Header, name);
        if (i < 0) throw new DataFormatException($"{Path}: missing column '{name}' (header has: {string.Join(", ", Header)})");
        return i;
    }
}
