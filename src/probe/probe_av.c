/*
 * Video, audio and the image formats libjpeg and libpng do not cover
 * (WebP, GIF, BMP, TIFF), probed with libavformat over the byte source.
 *
 * Hostile input must cost bounded time and memory: every read passes
 * through pf__av_read, which enforces the context's byte and time limits
 * (the interrupt callback repeats the check where libavformat loops without
 * reading); a demuxer may not open other files or URLs (playlists and
 * concat lists name them); only common containers get past probing; and
 * decoding, which avformat_find_stream_info does, happens only when the
 * headers lack the frame size or rate, with a pixel-count cap.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libavutil/time.h>

#include "probe_internal.h"

#define PF__AV_IO_BUF 65536
/* Byte budget of avformat_find_stream_info when it must decode: enough for
 * a few frames of video; a still image needs all of its one packet. */
#define PF__AV_INFO_PROBESIZE (2 << 20)
#define PF__AV_IMAGE_PROBESIZE (32 << 20)
/* A decoder refuses frames larger than this rather than allocate them. */
#define PF__AV_MAX_PIXELS "100000000"

/* Containers worth a demuxer's attention. Anything else (playlists, concat
 * scripts, tracker modules, game formats) is refused before its demuxer
 * reads the header: no generation API accepts it, and each one is attack
 * surface. Names match libavformat's, comma lists included. */
#define PF__AV_FORMATS                                                     \
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,ogg,asf,"  \
    "mxf,mp3,wav,w64,aac,flac,aiff,caf,gif,gif_pipe,webp_pipe,bmp_pipe,"   \
    "tiff_pipe,png_pipe,jpeg_pipe,h264,hevc,m4v,ivf,obu,mpegvideo"

struct pf__av_io {
    struct pf__source *src;
    const uint8_t *head;
    size_t head_len;
    int64_t pos;
    int64_t deadline;           /* av_gettime_relative() microseconds */
    pf_err io_rc;               /* a read error or limit, reported */
};

static pthread_once_t pf__av_once = PTHREAD_ONCE_INIT;

/* The first error libavformat logs during a probe on this thread, to name
 * the reason in our message ("moov atom not found"). Threads libavformat
 * starts itself have no buffer and fall through to the default logger. */
#define PF__AV_MSG 256
static _Thread_local char *pf__av_msg;

static void pf__av_log(void *avcl, int level, const char *fmt, va_list vl)
{
    if (pf__av_msg && level <= AV_LOG_ERROR) {
        size_t n;

        if (pf__av_msg[0])
            return;
        vsnprintf(pf__av_msg, PF__AV_MSG, fmt, vl);
        n = strlen(pf__av_msg);
        while (n && (pf__av_msg[n - 1] == '\n' || pf__av_msg[n - 1] == ' '))
            pf__av_msg[--n] = '\0';
        return;
    }
    av_log_default_callback(avcl, level, fmt, vl);
}

/* The process-wide libav settings every module that calls libav shares
 * (the probe here, the image and video fixers): silence, since a library
 * must not print, and a ceiling on any single av_malloc. The ceiling is
 * what bounds memory against hostile headers: libavformat's mov demuxer
 * allocates a sample table from the entry count an stco/stsz box claims
 * (an 877-byte MP4 asks for 1 GiB), and no demuxer option limits that.
 * Documented in preflight.h (PF_MAX_ALLOC) as a process-wide effect. */
static pthread_once_t pf__av_global_once = PTHREAD_ONCE_INIT;

static void pf__av_global_setup(void)
{
    /* The memory bound holds whoever owns the log policy. */
    av_max_alloc(PF_MAX_ALLOC);
    if (pf__global_flags() & PF_GLOBAL_KEEP_AV_LOG)
        return;
    av_log_set_level(AV_LOG_QUIET);
}

void pf__av_global_init(void)
{
    pthread_once(&pf__av_global_once, pf__av_global_setup);
}

static void pf__av_init(void)
{
    pf__av_global_init();
    if (!(pf__global_flags() & PF_GLOBAL_KEEP_AV_LOG))
        av_log_set_callback(pf__av_log);
}

/* Nonzero once the probe has used up its time or bytes; the message is
 * set the first time. */
static int pf__av_over_budget(struct pf__av_io *io)
{
    struct pf__source *src = io->src;
    pf_ctx *ctx = src->ctx;

    if (io->io_rc != PF_OK)
        return 1;
    if ((int64_t)src->bytes_read > ctx->max_probe_bytes) {
        io->io_rc = pf__error(ctx, PF_ELIMIT,
                              "%s: probe needs more than %lld bytes",
                              src->name, (long long)ctx->max_probe_bytes);
        return 1;
    }
    if (av_gettime_relative() >= io->deadline) {
        io->io_rc = pf__error(ctx, PF_ELIMIT,
                              "%s: probe took longer than %d ms", src->name,
                              ctx->probe_timeout_ms);
        return 1;
    }
    return 0;
}

/* libav says ENOMEM when av_malloc refuses a block over PF_MAX_ALLOC
 * (a real exhaustion of memory would have failed well before a small
 * file's header is read): name the file and the limit. */
static pf_err pf__av_over_alloc(pf_ctx *ctx, const char *name)
{
    return pf__error(ctx, PF_ELIMIT,
                     "%s: refused: its header asks for a single allocation "
                     "over the %u MiB memory limit", name,
                     (unsigned)(PF_MAX_ALLOC >> 20));
}

static int pf__av_interrupt(void *opaque)
{
    return pf__av_over_budget(opaque);
}

static int pf__av_read(void *opaque, uint8_t *buf, int buf_size)
{
    struct pf__av_io *io = opaque;
    struct pf__source *src = io->src;
    size_t got = 0;
    pf_err rc;

    if (pf__av_over_budget(io))
        return AVERROR_EXIT;
    if (buf_size <= 0 || (src->size >= 0 && io->pos >= src->size))
        return AVERROR_EOF;
    /* The head is already in memory: format probing, which restarts from
     * offset 0 several times, costs no read. */
    if (io->pos < (int64_t)io->head_len) {
        got = io->head_len - (size_t)io->pos;
        if (got > (size_t)buf_size)
            got = (size_t)buf_size;
        memcpy(buf, io->head + io->pos, got);
    } else if ((rc = src->read_at(src, io->pos, buf, (size_t)buf_size,
                                  &got)) != PF_OK) {
        io->io_rc = rc;
        return AVERROR(EIO);
    }
    if (got == 0)
        return AVERROR_EOF;
    io->pos += (int64_t)got;
    return (int)got;
}

static int64_t pf__av_seek(void *opaque, int64_t offset, int whence)
{
    struct pf__av_io *io = opaque;
    int64_t size = io->src->size;
    int64_t pos;

    whence &= ~AVSEEK_FORCE;
    if (whence == AVSEEK_SIZE)
        return size >= 0 ? size : AVERROR(ENOSYS);
    switch (whence) {
    case SEEK_SET:
        pos = offset;
        break;
    case SEEK_CUR:
        pos = io->pos + offset;
        break;
    case SEEK_END:
        if (size < 0)
            return AVERROR(ENOSYS);
        pos = size + offset;
        break;
    default:
        return AVERROR(EINVAL);
    }
    if (pos < 0)
        return AVERROR(EINVAL);
    io->pos = pos;
    return pos;
}

/* HLS playlists, DASH manifests and concat scripts ask to open the files
 * or URLs they name: a media file must not make us read /etc/passwd or
 * fetch from the network. */
static int pf__av_io_open_denied(AVFormatContext *s, AVIOContext **pb,
                                 const char *url, int flags,
                                 AVDictionary **options)
{
    (void)s;
    (void)url;
    (void)flags;
    (void)options;
    *pb = NULL;
    return AVERROR(EPERM);
}

static int pf__ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Demuxers of single pictures: their facts are an image's, not a video's.
 * An animated GIF is still judged as an image by the APIs that take it. */
static int pf__av_is_image(const char *demuxer)
{
    return pf__ends_with(demuxer, "_pipe") || strcmp(demuxer, "gif") == 0 ||
           strcmp(demuxer, "image2") == 0;
}

/* The best video stream that is a real track, not a cover picture; -1 when
 * there is none. */
static int pf__av_video_stream(AVFormatContext *fmt)
{
    int best = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);

    if (best >= 0 &&
        !(fmt->streams[best]->disposition & AV_DISPOSITION_ATTACHED_PIC))
        return best;
    best = -1;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];

        if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO ||
            (st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            continue;
        if (best < 0 ||
            (int64_t)st->codecpar->width * st->codecpar->height >
                (int64_t)fmt->streams[best]->codecpar->width *
                    fmt->streams[best]->codecpar->height)
            best = (int)i;
    }
    return best;
}

static int pf__av_audio_stream(AVFormatContext *fmt)
{
    int best = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);

    return best >= 0 ? best : -1;
}

static AVRational pf__av_frame_rate(const AVStream *st)
{
    if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0)
        return st->avg_frame_rate;
    if (st->r_frame_rate.num > 0 && st->r_frame_rate.den > 0)
        return st->r_frame_rate;
    return (AVRational){0, 1};
}

/* Whether the headers alone left out what we report, so that frames must
 * be decoded to learn it. */
static int pf__av_needs_stream_info(AVFormatContext *fmt, int image)
{
    int vi, ai;

    if (fmt->nb_streams == 0 || (fmt->ctx_flags & AVFMTCTX_NOHEADER))
        return 1;
    vi = pf__av_video_stream(fmt);
    ai = pf__av_audio_stream(fmt);
    if (vi < 0)
        return ai < 0;
    if (fmt->streams[vi]->codecpar->width <= 0 ||
        fmt->streams[vi]->codecpar->height <= 0)
        return 1;
    return !image && pf__av_frame_rate(fmt->streams[vi]).num == 0;
}

/* The name a user would give the container: libavformat's demuxer names
 * cover families ("mov,mp4,m4a,3gp,3g2,mj2") and pipes ("webp_pipe"). */
static void pf__av_format_name(AVFormatContext *fmt, const AVStream *video,
                               const AVStream *audio, char *out, size_t size)
{
    const char *name = fmt->iformat->name;

    if (strcmp(name, "mov,mp4,m4a,3gp,3g2,mj2") == 0) {
        /* QuickTime files carry brand "qt  "; MP4s an ISO brand. Files
         * from before ftyp existed have none and are QuickTime. */
        const AVDictionaryEntry *brand =
            av_dict_get(fmt->metadata, "major_brand", NULL, 0);

        pf__strlcpy(out, brand && strncmp(brand->value, "qt", 2) != 0
                             ? "mp4" : "mov", size);
    } else if (strcmp(name, "matroska,webm") == 0) {
        /* WebM is Matroska restricted to VP8/VP9/AV1 and Vorbis/Opus. */
        enum AVCodecID v = video ? video->codecpar->codec_id : AV_CODEC_ID_NONE;
        enum AVCodecID a = audio ? audio->codecpar->codec_id : AV_CODEC_ID_NONE;
        int webm = video ? (v == AV_CODEC_ID_VP8 || v == AV_CODEC_ID_VP9 ||
                            v == AV_CODEC_ID_AV1)
                         : (a == AV_CODEC_ID_OPUS || a == AV_CODEC_ID_VORBIS);

        pf__strlcpy(out, webm ? "webm" : "matroska", size);
    } else if (pf__ends_with(name, "_pipe")) {
        size_t n = strlen(name) - 5;

        if (n >= size)
            n = size - 1;
        memcpy(out, name, n);
        out[n] = '\0';
    } else if (strcmp(name, "image2") == 0 && video) {
        pf__strlcpy(out, avcodec_get_name(video->codecpar->codec_id), size);
    } else {
        size_t n = strcspn(name, ",");

        if (n >= size)
            n = size - 1;
        memcpy(out, name, n);
        out[n] = '\0';
    }
}

/* Clockwise degrees a player turns the picture, from the display matrix:
 * 0, 90, 180 or 270. */
static int pf__av_rotation(const AVStream *st)
{
    size_t size = 0;
    const uint8_t *sd =
        av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    double theta;
    long r;

    if (!sd || size < 9 * sizeof(int32_t))
        return 0;
    /* av_display_rotation_get() answers counter-clockwise. */
    theta = -av_display_rotation_get((const int32_t *)sd);
    if (isnan(theta))
        return 0;
    r = lrint(theta / 90.0) % 4 * 90;
    return (int)(r < 0 ? r + 360 : r);
}

/* An MP4 whose sample table points past the end of the file was cut during
 * upload or copy: players stop early and servers reject it. */
static pf_err pf__av_check_samples(struct pf__source *src, AVStream *st,
                                   const char *label)
{
    int n = avformat_index_get_entries_count(st);
    int64_t end = 0;

    if (src->size < 0)
        return PF_OK;
    for (int i = 0; i < n; i++) {
        const AVIndexEntry *e = avformat_index_get_entry(st, i);

        if (e && e->pos + e->size > end)
            end = e->pos + e->size;
    }
    if (end > src->size)
        return pf__error(src->ctx, PF_ECORRUPT,
                         "%s: truncated %s (sample data ends at %lld of %lld "
                         "bytes)",
                         src->name, label, (long long)end,
                         (long long)src->size);
    return PF_OK;
}

/* An EBML variable-size integer at p: its length in bytes (0 when it does
 * not fit in n or is malformed) and its value, the length marker removed
 * unless keep_marker (element IDs keep it). *unknown is set for the
 * reserved all-ones size ("unknown", a live stream's segment). */
static int pf__av_ebml_vint(const uint8_t *p, size_t n, int keep_marker,
                            uint64_t *v, int *unknown)
{
    int len = 1;
    uint64_t x, ones;

    if (!n || !p[0])
        return 0;
    while (!(p[0] & (0x80 >> (len - 1))))
        len++;
    if ((size_t)len > n)
        return 0;
    x = keep_marker ? p[0] : p[0] & (0xff >> len);
    for (int i = 1; i < len; i++)
        x = x << 8 | p[i];
    ones = ((uint64_t)1 << (7 * len)) - 1;
    if (unknown)
        *unknown = !keep_marker && x == ones;
    *v = x;
    return len;
}

/* A Matroska or WebM file cut short: the Segment element states its size
 * up front (libavformat's writer and mkvmerge fill it in), so a file that
 * ends before the segment does was cut during upload or copy, as an MP4
 * whose samples point past its end. libavformat itself reads such a file
 * without complaint, as far as it goes. Segments of unknown size (written
 * to a pipe, live) cannot be judged and pass. */
static pf_err pf__av_check_matroska(struct pf__source *src, const uint8_t *head,
                                    size_t head_len, const char *label)
{
    size_t pos = 0;

    if (src->size < 0)
        return PF_OK;
    while (pos < head_len) {
        uint64_t id, size;
        int unknown = 0, il, sl;

        if (!(il = pf__av_ebml_vint(head + pos, head_len - pos, 1, &id, NULL)) ||
            !(sl = pf__av_ebml_vint(head + pos + il, head_len - pos - il, 0, &size,
                                    &unknown)) || unknown)
            return PF_OK;
        pos += (size_t)(il + sl);
        if (id == 0x18538067) {
            if (size > (uint64_t)INT64_MAX - pos || (int64_t)(pos + size) > src->size)
                return pf__error(src->ctx, PF_ECORRUPT, "%s: truncated %s (the segment "
                                 "ends at %llu of %lld bytes)", src->name, label,
                                 (unsigned long long)(pos + size), (long long)src->size);
            return PF_OK;
        }
        if (size > head_len - pos)
            return PF_OK;       /* past what was read: cannot tell */
        pos += (size_t)size;
    }
    return PF_OK;
}

static double pf__av_duration(AVFormatContext *fmt, const AVStream *st)
{
    if (st && st->duration != AV_NOPTS_VALUE && st->duration > 0 &&
        st->time_base.den > 0)
        return (double)st->duration * av_q2d(st->time_base);
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        return (double)fmt->duration / AV_TIME_BASE;
    return -1;
}

/* What a WebP's headers state (WebP container spec, RFC 9649). */
struct pf__webp {
    int width, height, alpha, lossless, animated;
    int64_t riff_end;           /* where the RIFF payload says the file ends */
};

static unsigned pf__av_le24(const uint8_t *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8 | (unsigned)p[2] << 16;
}

static uint32_t pf__av_le32(const uint8_t *p)
{
    return pf__av_le24(p) | (uint32_t)p[3] << 24;
}

/* The frame size of a 'VP8 ' (key frame header: tag, start code, 14-bit
 * sizes) or 'VP8L' (signature, 14-bit sizes minus one, alpha hint, version
 * 0) chunk body. 0 when it is neither. */
static int pf__av_webp_frame(int lossless, const uint8_t *d,
                             size_t n, struct pf__webp *w)
{
    if (!lossless) {
        if (n < 10 || (d[0] & 1) || d[3] != 0x9D || d[4] != 0x01 ||
            d[5] != 0x2A)
            return 0;
        w->width = (d[6] | d[7] << 8) & 0x3FFF;
        w->height = (d[8] | d[9] << 8) & 0x3FFF;
        w->lossless = 0;
    } else {
        uint32_t bits;

        if (n < 5 || d[0] != 0x2F)
            return 0;
        bits = pf__av_le32(d + 1);
        if (bits >> 29)
            return 0;
        w->width = (int)(bits & 0x3FFF) + 1;
        w->height = (int)(bits >> 14 & 0x3FFF) + 1;
        w->alpha = (int)(bits >> 28 & 1);
        w->lossless = 1;
    }
    return w->width > 0 && w->height > 0;
}

/* Reads the size, alpha and animation from the headers in the head, the
 * way libwebp's WebPGetFeatures does, so no frame is decoded to learn them:
 * FFmpeg's decoder refuses a frame over our pixel cap (a 16000x9000 photo,
 * which ffprobe and libwebp read), cannot decode animations at all, and
 * decoding a hostile 97 MP frame is what a probe must not do. An extended
 * file's canvas must agree with its frame when the frame is in the head
 * (libwebp refuses the file otherwise); an animated one has only the
 * canvas. 0 when the headers are malformed: a file libwebp would not
 * open. */
static int pf__av_webp_header(const uint8_t *h, size_t n, struct pf__webp *w)
{
    size_t off = 12;
    int vp8x = 0, frame = 0;
    struct pf__webp f = {0};

    memset(w, 0, sizeof *w);
    if (n < 20 || memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WEBP", 4) != 0)
        return 0;
    w->riff_end = (int64_t)pf__av_le32(h + 4) + 8;
    while (off + 8 <= n && !frame) {
        const uint8_t *d = h + off + 8;
        uint32_t size = pf__av_le32(h + off + 4);
        size_t avail = n - off - 8 < size ? n - off - 8 : size;

        if (off == 12 && memcmp(h + off, "VP8X", 4) == 0) {
            /* Reserved bits are zero in every valid file. */
            if (size != 10 || avail < 10 || (d[0] & 0xC1) || pf__av_le24(d + 1))
                return 0;
            vp8x = 1;
            w->alpha = (d[0] & 0x10) != 0;
            w->animated = (d[0] & 0x02) != 0;
            w->width = (int)pf__av_le24(d + 4) + 1;
            w->height = (int)pf__av_le24(d + 7) + 1;
        } else if (memcmp(h + off, "VP8 ", 4) == 0 ||
                   memcmp(h + off, "VP8L", 4) == 0) {
            if (!pf__av_webp_frame(h[off + 3] == 'L', d, avail, &f))
                return 0;
            frame = 1;
        } else if (off == 12) {
            return 0;
        }
        if (size > n)
            break;
        off += 8 + (size_t)size + (size & 1);
    }
    /* An animation's frames are in ANMF chunks; a still's frame may lie
     * past the head behind a large ICC profile: the canvas says it all. */
    if (vp8x && (w->animated || !frame))
        return 1;
    if (!frame)
        return 0;
    if (vp8x && (f.width != w->width || f.height != w->height))
        return 0;
    w->width = f.width;
    w->height = f.height;
    w->lossless = f.lossless;
    if (!vp8x)
        w->alpha = f.alpha;
    return 1;
}

/* Container bit rate. Demuxers that do not store one (MP4) get it from
 * size and duration, as avformat_find_stream_info would compute it. */
static int64_t pf__av_bit_rate(AVFormatContext *fmt, int64_t size)
{
    double rate;

    if (fmt->bit_rate > 0)
        return fmt->bit_rate;
    if (size <= 0 || fmt->duration == AV_NOPTS_VALUE || fmt->duration <= 0)
        return -1;
    rate = (double)size * 8.0 * AV_TIME_BASE / (double)fmt->duration;
    return rate <= (double)INT64_MAX ? (int64_t)rate : -1;
}

static void pf__av_fill_video(AVFormatContext *fmt, AVStream *st, int image,
                              pf_media_info *info)
{
    const AVCodecParameters *par = st->codecpar;
    const AVPixFmtDescriptor *desc =
        par->format >= 0 ? av_pix_fmt_desc_get(par->format) : NULL;
    const AVDictionaryEntry *alpha_mode =
        av_dict_get(st->metadata, "alpha_mode", NULL, 0);
    AVRational sar = av_guess_sample_aspect_ratio(fmt, st, NULL);
    AVRational rate = pf__av_frame_rate(st);
    int width = par->width, height = par->height;

    pf__strlcpy(info->codec, avcodec_get_name(par->codec_id),
                sizeof info->codec);
    info->coded_width = width > 0 ? width : -1;
    info->coded_height = height > 0 ? height : -1;
    /* Players stretch by the sample aspect ratio first, then rotate. */
    if (width > 0 && sar.num > 0 && sar.den > 0 && sar.num != sar.den)
        width = (int)lrint((double)width * sar.num / sar.den);
    info->rotation = pf__av_rotation(st);
    if (info->rotation == 90 || info->rotation == 270) {
        int t = width;

        width = height;
        height = t;
    }
    info->width = width > 0 ? width : -1;
    info->height = height > 0 ? height : -1;
    if (desc) {
        info->has_alpha = (desc->flags & AV_PIX_FMT_FLAG_ALPHA) != 0;
        info->bit_depth = desc->comp[0].depth;
    } else if (par->bits_per_raw_sample > 0) {
        info->bit_depth = par->bits_per_raw_sample;
    }
    /* VP8/VP9 keep alpha in a side channel the pixel format hides; the
     * Matroska track says so. QuickTime sample descriptions give a depth
     * of 32 for codecs carrying alpha (ProRes 4444, Animation, PNG), which
     * is all we know without decoding. */
    if (alpha_mode && strcmp(alpha_mode->value, "1") == 0)
        info->has_alpha = 1;
    if (!desc && par->bits_per_coded_sample == 32 &&
        strcmp(fmt->iformat->name, "mov,mp4,m4a,3gp,3g2,mj2") == 0)
        info->has_alpha = 1;
    if (image)
        return;
    info->has_video = 1;
    info->duration = pf__av_duration(fmt, st);
    if (rate.num > 0)
        info->fps = av_q2d(rate);
    if (st->nb_frames > 0)
        info->frame_count = st->nb_frames;
    else if (info->duration >= 0 && info->fps > 0)
        info->frame_count = llrint(info->duration * info->fps);
}

pf_err pf__probe_av(struct pf__source *src, const uint8_t *head,
                    size_t head_len, pf_media_info *info)
{
    pf_ctx *ctx = src->ctx;
    struct pf__av_io io = {0};
    AVFormatContext *fmt = NULL;
    AVIOContext *avio = NULL;
    uint8_t *iobuf = NULL;
    AVDictionary *opts = NULL;
    AVDictionary **stream_opts = NULL;
    unsigned nb_stream_opts = 0;
    AVStream *video = NULL, *audio = NULL;
    char avmsg[PF__AV_MSG] = "";
    struct pf__webp webp;
    int ret, image, vi, ai, have_webp = 0;
    /* ISO and QuickTime files open with a box type at offset 4. */
    int iso = head_len >= 8 && (memcmp(head + 4, "ftyp", 4) == 0 ||
                                memcmp(head + 4, "moov", 4) == 0 ||
                                memcmp(head + 4, "mdat", 4) == 0 ||
                                memcmp(head + 4, "wide", 4) == 0);
    pf_err rc = PF_OK;

    pthread_once(&pf__av_once, pf__av_init);
    pf__av_msg = avmsg;
    io.src = src;
    io.head = head;
    io.head_len = head_len;
    io.deadline = av_gettime_relative() + (int64_t)ctx->probe_timeout_ms * 1000;

    if (!(iobuf = av_malloc(PF__AV_IO_BUF)) ||
        !(avio = avio_alloc_context(iobuf, PF__AV_IO_BUF, 0, &io, pf__av_read,
                                    NULL, pf__av_seek)) ||
        !(fmt = avformat_alloc_context())) {
        rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", src->name);
        goto out;
    }
    iobuf = NULL;       /* the AVIOContext owns it now, and may replace it */
    fmt->pb = avio;
    fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    fmt->interrupt_callback.callback = pf__av_interrupt;
    fmt->interrupt_callback.opaque = &io;
    fmt->io_open = pf__av_io_open_denied;
    if (av_dict_set(&opts, "format_whitelist", PF__AV_FORMATS, 0) < 0 ||
        /* No protocol is called "none": nested contexts inherit this list
         * and can open nothing, should a demuxer bypass io_open. */
        av_dict_set(&opts, "protocol_whitelist", "none", 0) < 0) {
        rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", src->name);
        goto out;
    }
    /* No file name: libavformat must decide from the bytes, as we do. An
     * ISO BMFF "ftyp" box already says mov/mp4, which spares running every
     * demuxer's probe (an MP3 probe scans every byte of the head). */
    if ((ret = avformat_open_input(&fmt, "", iso ? av_find_input_format("mov") : NULL,
                                   &opts)) < 0) {
        if (io.io_rc != PF_OK)
            rc = io.io_rc;
        else if (ret == AVERROR(ENOMEM))
            rc = pf__av_over_alloc(ctx, src->name);
        else if (iso)
            rc = pf__error(ctx, PF_ECORRUPT,
                           "%s: truncated or corrupt MP4 (%s)", src->name,
                           avmsg[0] ? avmsg : av_err2str(ret));
        else
            rc = pf__error(ctx, PF_EFORMAT,
                           "%s: not a recognised image or video", src->name);
        if (avmsg[0])
            pf__log(ctx, "%s: libavformat: %s", src->name, avmsg);
        goto out;
    }
    image = pf__av_is_image(fmt->iformat->name);
    /* A WebP's headers say what decoding its frame would (and FFmpeg
     * refuses frames over the pixel cap): its end is checked against the
     * RIFF size instead, like the end markers of JPEG and PNG. */
    if (strcmp(fmt->iformat->name, "webp_pipe") == 0 && fmt->nb_streams == 1) {
        AVCodecParameters *par = fmt->streams[0]->codecpar;

        if (!pf__av_webp_header(head, head_len, &webp)) {
            rc = pf__error(ctx, PF_ECORRUPT, "%s: corrupt WebP (malformed "
                           "headers)", src->name);
            goto out;
        }
        if (src->size >= 0 && webp.riff_end > src->size) {
            rc = pf__error(ctx, PF_ECORRUPT, "%s: truncated WebP (%lld of the "
                           "%lld bytes its RIFF header announces)", src->name,
                           (long long)src->size, (long long)webp.riff_end);
            goto out;
        }
        if (src->size >= 0 && webp.riff_end < src->size) {
            info->trailing_bytes = src->size - webp.riff_end;
            pf__log(ctx, "%s: %lld bytes after the WebP's RIFF chunk",
                    src->name, (long long)info->trailing_bytes);
        }
        par->width = webp.width;
        par->height = webp.height;
        /* What FFmpeg's decoder would output, so depth and alpha read as
         * ffprobe reports them. */
        par->format = webp.lossless ? AV_PIX_FMT_ARGB
                      : webp.alpha ? AV_PIX_FMT_YUVA420P : AV_PIX_FMT_YUV420P;
        have_webp = 1;
    }
    if (!have_webp && pf__av_needs_stream_info(fmt, image)) {
        /* This decodes: keep it small and refuse giant frames. */
        fmt->probesize = image ? PF__AV_IMAGE_PROBESIZE : PF__AV_INFO_PROBESIZE;
        if (fmt->probesize > ctx->max_probe_bytes)
            fmt->probesize = ctx->max_probe_bytes;
        fmt->max_analyze_duration = AV_TIME_BASE;
        nb_stream_opts = fmt->nb_streams;
        if (nb_stream_opts &&
            !(stream_opts = av_calloc(nb_stream_opts, sizeof *stream_opts))) {
            rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", src->name);
            goto out;
        }
        for (unsigned i = 0; i < nb_stream_opts; i++)
            if (av_dict_set(&stream_opts[i], "max_pixels", PF__AV_MAX_PIXELS,
                            0) < 0 ||
                av_dict_set(&stream_opts[i], "threads", "1", 0) < 0) {
                rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", src->name);
                goto out;
            }
        if ((ret = avformat_find_stream_info(fmt, stream_opts)) < 0) {
            if (io.io_rc != PF_OK)
                rc = io.io_rc;
            else if (ret == AVERROR(ENOMEM))
                rc = pf__av_over_alloc(ctx, src->name);
            else
                rc = pf__error(ctx, PF_ECORRUPT, "%s: corrupt %s (%s)",
                               src->name, fmt->iformat->name,
                               avmsg[0] ? avmsg : av_err2str(ret));
            goto out;
        }
        /* A limit hit while decoding ends the search quietly, with the
         * facts half known: that is still our failure to report. */
        if (io.io_rc != PF_OK) {
            rc = io.io_rc;
            goto out;
        }
    }
    vi = pf__av_video_stream(fmt);
    ai = pf__av_audio_stream(fmt);
    video = vi >= 0 ? fmt->streams[vi] : NULL;
    audio = ai >= 0 ? fmt->streams[ai] : NULL;
    if (!video && !audio) {
        rc = pf__error(ctx, PF_EFORMAT, "%s: no video or audio stream",
                       src->name);
        goto out;
    }
    pf__av_format_name(fmt, video, audio, info->format, sizeof info->format);
    if (strcmp(fmt->iformat->name, "mov,mp4,m4a,3gp,3g2,mj2") == 0) {
        const char *label = strcmp(info->format, "mov") == 0 ? "MOV" : "MP4";

        if ((video && (rc = pf__av_check_samples(src, video, label)) != PF_OK) ||
            (audio && (rc = pf__av_check_samples(src, audio, label)) != PF_OK))
            goto out;
    }
    if (strcmp(fmt->iformat->name, "matroska,webm") == 0 &&
        (rc = pf__av_check_matroska(src, head, head_len,
                                    strcmp(info->format, "webm") == 0 ? "WebM"
                                                                      : "Matroska")) != PF_OK)
        goto out;
    if (video) {
        if (video->codecpar->width <= 0 || video->codecpar->height <= 0) {
            rc = pf__error(ctx, image ? PF_EFORMAT : PF_ECORRUPT,
                           "%s: cannot read the %s frame size", src->name,
                           avcodec_get_name(video->codecpar->codec_id));
            goto out;
        }
        info->kind = image ? PF_MEDIA_IMAGE : PF_MEDIA_VIDEO;
        pf__av_fill_video(fmt, video, image, info);
        /* The header's own alpha flag beats the decoder's pixel format,
         * which is ARGB for every lossless file. */
        if (have_webp)
            info->has_alpha = webp.alpha;
    } else {
        /* A video field given a song is the rules' verdict to give; here
         * it is simply audio. */
        info->kind = PF_MEDIA_AUDIO;
        pf__strlcpy(info->codec, avcodec_get_name(audio->codecpar->codec_id),
                    sizeof info->codec);
        info->duration = pf__av_duration(fmt, audio);
    }
    if (audio && !image) {
        info->has_audio = 1;
        pf__strlcpy(info->audio_codec, avcodec_get_name(audio->codecpar->codec_id),
                    sizeof info->audio_codec);
    }
    if (!image)
        info->bit_rate = pf__av_bit_rate(fmt, src->size);
out:
    for (unsigned i = 0; i < nb_stream_opts; i++)
        av_dict_free(&stream_opts[i]);
    av_freep(&stream_opts);
    av_dict_free(&opts);
    avformat_close_input(&fmt);
    if (avio)
        av_freep(&avio->buffer);
    avio_context_free(&avio);
    av_free(iobuf);
    pf__av_msg = NULL;
    return rc;
}
