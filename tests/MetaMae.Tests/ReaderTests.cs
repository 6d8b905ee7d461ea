using MetaMae.Data;

namespace MetaMae.Tests;

public class ReaderTests
{
    private static string Write(string text)
    {
        var p = Path.Combine(Tmp.Dir("csv"), "seq.csv");
        File.WriteAllText(p, text);
        return p;
    }

    [Fact]
    public void ShippedDnaSpliceHasTheDocumentedSplitAndClasses()
    {
        var ds = Catalog.Load("dna-splice");
        Assert.Equal(2000, ds.Train.Count);
        Assert.Equal(1186, ds.Test!.Count);
        Assert.Equal(["ei", "ie", "n"], ds.ClassNames);
        Assert.Equal(1051, ds.Train.Labels!.Count(l => l == 2));
    }

    [Fact]
    public void UnknownSymbolNamesFileLineAndPosition()
    {
        var p = Write("sequence,label,split\nACGT,a,train\nACNT,b,test\n");
        var e = Assert.Throws<DataFormatException>(() => Readers.SequenceCsv("x", p, "ACGT", 4));
        Assert.Contains($"{p}:3", e.Message);
        Assert.Contains("position 3: symbol 'N'", e.Message);
    }

    [Theory]
    [InlineData("sequence,label,split\nACGT,a,train\nACG,b,test\n", ":3", "has 3 symbols, expected 4")]
    [InlineData("sequence,label,split\nACGT,a,train\nACGT,b\n", ":3", "expected 3 fields")]
    [InlineData("sequence,label,split\nACGT,a,train\nACGT,b,valid\n", ":3", "expected 'train' or 'test'")]
    [InlineData("seq,label,split\nACGT,a,train\n", "", "missing column 'sequence'")]
    [InlineData("sequence,label,split\nACGT,a,train\nACGT,b,test\n", "", "class 'b' has no training rows")]
    [InlineData("sequence,label,split\n", "", "no data rows")]
    [InlineData("sequence,label,split\nACGT,,train\n", ":2", "field 'label' is empty")]
    public void MalformedFilesGetErrorsNamingTheProblem(string text, string line, string what)
    {
        var p = Write(text);
        var e = Assert.Throws<DataFormatException>(() => Readers.SequenceCsv("x", p, "ACGT", 4));
        Assert.Contains(p + line, e.Message);
        Assert.Contains(what, e.Message);
    }
}
