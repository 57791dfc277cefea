namespace Bcm;
internal static class Placeholder { }
