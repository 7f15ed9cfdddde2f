package dev.hydra.io.torch;

import dev.hydra.HydraException;
import dev.hydra.io.LittleEndian;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The central directory of a zip file held in a memory segment, validated before anything is read:
 * every entry's local header and data must lie inside the file and before the central directory,
 * names are unique, only stored and deflated entries are accepted, and a deflated entry may not
 * declare more bytes than deflate can produce from its compressed size (nor more than a Java array
 * holds). Stored entries are slices of the segment; deflated ones are inflated on request, never
 * beyond their declared size.
 */
final class ZipArchive {
    /** Deflate cannot expand data by more than about 1032:1; a declaration beyond that is a lie. */
    private static final long MAX_DEFLATE_RATIO = 1032;
    private static final long MAX_INFLATED_BYTES = Integer.MAX_VALUE - 8;


    private static final int LOCAL_SIG = 0x04034b50, CENTRAL_SIG = 0x02014b50, END_SIG = 0x06054b50;
    private static final int END64_SIG = 0x06064b50, END64_LOCATOR_SIG = 0x07064b50;

    /** One validated entry: where its data starts in the file, its stored and its inflated size. */
    record Entry(String name, boolean deflated, long dataOffset, long compressedSize, long size) {}

    private final String source;
    private final MemorySegment file;
    private final Map<String, Entry> entries;

    private ZipArchive(String source, MemorySegment file, Map<String, Entry> entries) {
        this.source = source;
        this.file = file;
        this.entries = entries;
    }

    static boolean hasZipMagic(MemorySegment file, long size) {
        return size >= 4 && file.get(LittleEndian.I32, 0) == LOCAL_SIG;
    }

    static ZipArchive read(String source, MemorySegment file, long size) {
        long end = findEnd(source, file, size);
        long count = u16(file, end + 10), cdSize = u32(file, end + 12), cdOffset = u32(file, end + 16);
        if (u16(file, end + 4) != 0 && u16(file, end + 4) != 0xffff)
            throw new HydraException(source + ": multi-disk zip archives are not supported");
        if (count == 0xffff || cdSize == 0xffffffffL || cdOffset == 0xffffffffL) {
            long locator = end - 20;
            if (locator < 0 || file.get(LittleEndian.I32, locator) != END64_LOCATOR_SIG)
                throw new HydraException(source + ": zip64 end-of-directory locator missing");
            long end64 = file.get(LittleEndian.I64, locator + 8);
            if (end64 < 0 || end64 > locator - 56 || file.get(LittleEndian.I32, end64) != END64_SIG)
                throw new HydraException(source + ": zip64 end-of-directory record at " + end64 + " is invalid");
            count = file.get(LittleEndian.I64, end64 + 32);
            cdSize = file.get(LittleEndian.I64, end64 + 40);
            cdOffset = file.get(LittleEndian.I64, end64 + 48);
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > end || cdSize > end - cdOffset)
            throw new HydraException(source + ": zip central directory [" + cdOffset + ", +" + cdSize + ") lies outside the file");
        if (count < 0 || count > cdSize / 46)
            throw new HydraException(source + ": zip directory claims " + count + " entries in " + cdSize + " bytes");
        Map<String, Entry> entries = new LinkedHashMap<>();
        long p = cdOffset, cdEnd = cdOffset + cdSize;
        for (long i = 0; i < count; i++) {
            if (p + 46 > cdEnd || file.get(LittleEndian.I32, p) != CENTRAL_SIG)
                throw new HydraException(source + ": zip directory entry " + i + " at " + p + " is malformed");
            int flags = u16(file, p + 8), method = u16(file, p + 10);
            long compressed = u32(file, p + 20), size32 = u32(file, p + 24), local = u32(file, p + 42);
            int nameLen = u16(file, p + 28), extraLen = u16(file, p + 30), commentLen = u16(file, p + 32);
            long next = p + 46 + nameLen + extraLen + commentLen;
            if (next > cdEnd) throw new HydraException(source + ": zip directory entry " + i + " runs past the directory");
            String name = new String(file.asSlice(p + 46, nameLen).toArray(ValueLayout.JAVA_BYTE), java.nio.charset.StandardCharsets.UTF_8);
            long[] sizes = {size32, compressed, local};
            readZip64Extra(source, file, p + 46 + nameLen, extraLen, sizes, name);
            Entry e = entry(source, file, name, flags, method, sizes[0], sizes[1], sizes[2], cdOffset);
            if (entries.putIfAbsent(name, e) != null) throw new HydraException(source + ": zip entry '" + name + "' appears twice");
            p = next;
        }
        return new ZipArchive(source, file, Collections.unmodifiableMap(entries));
    }

    private static long findEnd(String source, MemorySegment file, long size) {
        for (long p = size - 22; p >= Math.max(0, size - 22 - 0xffff); p--) {
            if (file.get(LittleEndian.I32, p) == END_SIG && p + 22 + u16(file, p + 20) == size) return p;
        }
        throw new HydraException(source + ": not a zip file (no end-of-directory record)");
    }

    /** Replaces the 32-bit sizes and offset that are 0xffffffff by the zip64 extra field's 64-bit ones, in that order. */
    private static void readZip64Extra(String source, MemorySegment file, long p, int len, long[] sizes, String name) {
        long end = p + len;
        while (p + 4 <= end) {
            int id = u16(file, p), n = u16(file, p + 2);
            if (p + 4 + n > end) throw new HydraException(source + ": zip entry '" + name + "' has a malformed extra field");
            if (id == 1) {
                long q = p + 4;
                for (int k = 0; k < 3; k++) {
                    if (sizes[k] != 0xffffffffL) continue;
                    if (q + 8 > p + 4 + n) throw new HydraException(source + ": zip entry '" + name + "' has a short zip64 field");
                    sizes[k] = file.get(LittleEndian.I64, q);
                    q += 8;
                }
            }
            p += 4 + n;
        }
    }

    private static Entry entry(String source, MemorySegment file, String name, int flags, int method,
                               long size, long compressed, long local, long cdOffset) {
        String where = source + ": zip entry '" + name + "'";
        if ((flags & 1) != 0) throw new HydraException(where + " is encrypted");
        if (method != 0 && method != 8) throw new HydraException(where + " uses compression method " + method + " (only stored and deflated are supported)");
        if (size < 0 || compressed < 0 || local < 0) throw new HydraException(where + " declares a size or offset beyond 2^63");
        if (local > cdOffset - 30 || file.get(LittleEndian.I32, local) != LOCAL_SIG)
            throw new HydraException(where + " has no local header at offset " + local);
        long data = local + 30 + u16(file, local + 26) + u16(file, local + 28);
        if (data > cdOffset || compressed > cdOffset - data)
            throw new HydraException(where + " data [" + data + ", +" + compressed + ") lies outside the archive (directory at " + cdOffset + ")");
        if (method == 0 && compressed != size)
            throw new HydraException(where + " is stored but declares " + size + " bytes in " + compressed);
        if (method == 8 && (size > MAX_INFLATED_BYTES || size > MAX_DEFLATE_RATIO * compressed + 64))
            throw new HydraException(where + " declares " + size + " inflated bytes from " + compressed + " compressed bytes (a zip bomb or a corrupt size)");
        return new Entry(name, method == 8, data, compressed, size);
    }

    Map<String, Entry> entries() {
        return entries;
    }

    /** The entry's bytes: a slice of the file when stored, a heap copy inflated to exactly its declared size otherwise. */
    MemorySegment bytes(Entry e) {
        MemorySegment raw = file.asSlice(e.dataOffset(), e.compressedSize());
        if (!e.deflated()) return raw;
        byte[] out = new byte[(int) e.size()];
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(raw.asByteBuffer());
            int n = 0;
            while (n < out.length && !inflater.finished()) {
                int k = inflater.inflate(out, n, out.length - n);
                if (k == 0 && (inflater.needsInput() || inflater.needsDictionary())) break;
                n += k;
            }
            if (n < out.length) throw new HydraException(source + ": zip entry '" + e.name() + "' inflates to " + n + " bytes, not the declared " + out.length);
            if (!inflater.finished() && inflater.inflate(new byte[1]) > 0)
                throw new HydraException(source + ": zip entry '" + e.name() + "' inflates beyond its declared " + out.length + " bytes");
        } catch (DataFormatException ex) {
            throw new HydraException(source + ": zip entry '" + e.name() + "' is not valid deflate data (" + ex.getMessage() + ")");
        } finally {
            inflater.end();
        }
        return MemorySegment.ofArray(out);
    }

    private static int u16(MemorySegment s, long p) {
        return s.get(LittleEndian.I16, p) & 0xffff;
    }

    private static long u32(MemorySegment s, long p) {
        return s.get(LittleEndian.I32, p) & 0xffffffffL;
    }
}
