/*
 * The FFmpeg libraries in the video fix: libavformat reads the source and
 * writes the MP4, libavcodec decodes and encodes (libx264 for H.264, the
 * native AAC encoder), libswscale crops and scales, libswresample converts
 * the audio. One call is one attempt at one output file; fix_video.c
 * decides what to ask for and whether the result will do.
 *
 * Pictures go through in one pass per frame: the kept region of the coded
 * frame is scaled straight to its output size (crop by pointer offset,
 * sample aspect ratio folded into the scale), then turned upright by the
 * rotation the display matrix asked for, then placed on the pad canvas.
 * Rotating after scaling moves the fewest pixels. A frame that needs none
 * of it goes to the encoder as decoded.
 *
 * The source is opened as a local file only, through the containers a
 * generation API may take; nothing it says can make libavformat open
 * another file or a URL. Decoders refuse frames larger than the pixel
 * limit. Every loop polls the context's interrupt flag, and libavformat's
 * blocking reads and writes poll it through the interrupt callback.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/time.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "fix_internal.h"

/* The containers a video source may come in: those generation APIs and
 * phones produce. Playlists, concat scripts and image sequences, which
 * name other files, are not among them. */
#define PF__AV_VIDEO_FORMATS                                                 \
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,ogg,asf,mxf," \
    "h264,hevc,m4v,ivf,obu,mpegvideo"

/* Samples per second AAC can carry; others are resampled to 48 kHz. */
static const int aac_rates[] = { 96000, 88200, 64000, 48000, 44100, 32000,
                                 24000, 22050, 16000, 12000, 11025, 8000, 0 };

static pthread_once_t pf__av_video_once = PTHREAD_ONCE_INIT;

/* A library must not print; the probe and the image fixer say the same. */
static void pf__av_video_init(void)
{
    pf__av_global_init();
}

static int interrupt_cb(void *opaque)
{
    const pf_ctx *ctx = opaque;

    return ctx->interrupted != 0;
}

static const char *av_reason(int err, char *buf, size_t size)
{
    if (av_strerror(err, buf, size) < 0)
        snprintf(buf, size, "error %d", err);
    return buf;
}

static pf_err interrupted(pf_ctx *ctx, const char *name)
{
    return pf__error(ctx, PF_EINTR, "%s: interrupted", name);
}

/* Opens a local file for reading with the restrictions above. Reading
 * the stream parameters may decode a frame or two: the decoders then
 * refuse frames of more than max_pixels too. */
static pf_err open_input(pf_ctx *ctx, const char *path, int64_t max_pixels,
                         AVFormatContext **out)
{
    AVFormatContext *fmt = avformat_alloc_context();
    AVDictionary *opts = NULL, **stream_opts = NULL;
    char *url = pf__asprintf("file:%s", path), reason[128], limit[32];
    unsigned nb = 0;
    int err;
    pf_err rc = PF_OK;

    *out = NULL;
    pthread_once(&pf__av_video_once, pf__av_video_init);
    if (!fmt || !url) {
        avformat_free_context(fmt);
        rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    fmt->interrupt_callback.callback = interrupt_cb;
    fmt->interrupt_callback.opaque = ctx;
    av_dict_set(&opts, "format_whitelist", PF__AV_VIDEO_FORMATS, 0);
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    if ((err = avformat_open_input(&fmt, url, NULL, &opts)) < 0) {
        /* avformat_open_input freed fmt */
        rc = ctx->interrupted ? interrupted(ctx, path)
           : pf__error(ctx, err == AVERROR(ENOENT) ? PF_ENOENT : PF_EFORMAT,
                       "%s: cannot open the video (%s)", path,
                       av_reason(err, reason, sizeof reason));
        goto out;
    }
    snprintf(limit, sizeof limit, "%lld", (long long)(max_pixels > 0 ? max_pixels
                                                      : PF__FIX_MAX_PIXELS));
    nb = fmt->nb_streams;
    if (nb && !(stream_opts = av_calloc(nb, sizeof *stream_opts))) {
        avformat_close_input(&fmt);
        rc = pf__error(ctx, PF_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (unsigned i = 0; i < nb; i++) {
        av_dict_set(&stream_opts[i], "max_pixels", limit, 0);
        av_dict_set(&stream_opts[i], "threads", "1", 0);
    }
    if ((err = avformat_find_stream_info(fmt, stream_opts)) < 0) {
        rc = ctx->interrupted ? interrupted(ctx, path)
           : pf__error(ctx, PF_ECORRUPT, "%s: cannot read the streams (%s)", path,
                       av_reason(err, reason, sizeof reason));
        avformat_close_input(&fmt);
        goto out;
    }
    *out = fmt;
out:
    for (unsigned i = 0; i < nb; i++)
        av_dict_free(&stream_opts[i]);
    av_freep(&stream_opts);
    av_dict_free(&opts);
    free(url);
    return rc;
}

/* The main video track (not a cover picture) and audio track, or -1. */
static void pick_streams(AVFormatContext *fmt, int *vi, int *ai)
{
    *vi = -1;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];

        if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO ||
            (st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            continue;
        if (*vi < 0 || (st->disposition & AV_DISPOSITION_DEFAULT &&
                        !(fmt->streams[*vi]->disposition & AV_DISPOSITION_DEFAULT)))
            *vi = (int)i;
    }
    *ai = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (*ai < 0)
        *ai = -1;
}

pf_err pf__av_video_facts(pf_ctx *ctx, const char *path, int64_t max_pixels,
                          struct pf__av_facts *f)
{
    AVFormatContext *fmt = NULL;
    int vi, ai;
    pf_err rc;

    memset(f, 0, sizeof *f);
    if ((rc = open_input(ctx, path, max_pixels, &fmt)))
        return rc;
    pick_streams(fmt, &vi, &ai);
    if (vi >= 0) {
        const AVStream *st = fmt->streams[vi];

        f->video_bit_rate = st->codecpar->bit_rate;
        f->frames = st->nb_frames;
    }
    if (ai >= 0) {
        const AVCodecParameters *par = fmt->streams[ai]->codecpar;

        f->audio_channels = par->ch_layout.nb_channels;
        f->audio_sample_rate = par->sample_rate;
        f->audio_bit_rate = par->bit_rate;
    }
    avformat_close_input(&fmt);
    if (vi < 0)
        return pf__error(ctx, PF_EFORMAT, "%s: no video stream", path);
    return PF_OK;
}

/* ---- writing ---- */

/* Creates the output context for dst; the file is opened by open_output. */
static pf_err alloc_output(pf_ctx *ctx, const struct pf__av_job *job,
                           AVFormatContext **out)
{
    char *url = pf__asprintf("file:%s", job->dst);
    int err;

    *out = NULL;
    if (!url)
        return pf__error(ctx, PF_ENOMEM, "out of memory");
    err = avformat_alloc_output_context2(out, NULL, job->muxer, url);
    free(url);
    if (err < 0 || !*out)
        return pf__error(ctx, PF_EINTERNAL, "no %s muxer in this libavformat",
                         job->muxer);
    (*out)->interrupt_callback.callback = interrupt_cb;
    (*out)->interrupt_callback.opaque = ctx;
    return PF_OK;
}

static pf_err write_error(pf_ctx *ctx, const struct pf__av_job *job, int err)
{
    char reason[128];

    if (ctx->interrupted)
        return interrupted(ctx, job->src);
    /* A quota, or a file size limit (RLIMIT_FSIZE: EFBIG), is as full a
     * disk to the user as ENOSPC. */
    return pf__error(ctx, err == AVERROR(ENOSPC) || err == AVERROR(EDQUOT) ||
                     err == AVERROR(EFBIG) ? PF_ENOSPC : PF_EIO,
                     "%s: cannot write: %s", job->dst_name,
                     err == AVERROR(EFBIG) ? "no space: the file size limit "
                     "(ulimit -f) is reached" : av_reason(err, reason, sizeof reason));
}

/* Opens the file and writes the header; the index goes to the front when
 * the trailer is written ("faststart": a server probing over HTTP reads
 * the index first). */
static pf_err open_output(pf_ctx *ctx, const struct pf__av_job *job,
                          AVFormatContext *oc)
{
    AVDictionary *opts = NULL;
    int err;

    if ((err = avio_open2(&oc->pb, oc->url, AVIO_FLAG_WRITE,
                          &oc->interrupt_callback, NULL)) < 0)
        return write_error(ctx, job, err);
    av_dict_set(&opts, "movflags", "+faststart", 0);
    err = avformat_write_header(oc, &opts);
    av_dict_free(&opts);
    return err < 0 ? write_error(ctx, job, err) : PF_OK;
}

static pf_err close_output(pf_ctx *ctx, const struct pf__av_job *job,
                           AVFormatContext *oc, struct pf__av_written *w)
{
    struct stat st;
    int err = av_write_trailer(oc);

    if (err < 0)
        return write_error(ctx, job, err);
    if ((err = avio_closep(&oc->pb)) < 0)
        return write_error(ctx, job, err);
    if (stat(job->dst, &st) != 0)
        return pf__error(ctx, PF_EIO, "%s: cannot read back what was written: %s",
                         job->dst_name, strerror(errno));
    w->bytes = (int64_t)st.st_size;
    return PF_OK;
}

static void free_output(AVFormatContext **oc)
{
    if (!*oc)
        return;
    if ((*oc)->pb)
        avio_closep(&(*oc)->pb);
    avformat_free_context(*oc);
    *oc = NULL;
}

/* ---- progress ---- */

struct progress {
    const struct pf__av_job *job;
    int64_t start, last;        /* av_gettime_relative() microseconds */
};

static void report(struct progress *p, int64_t frames, double position, int done)
{
    const struct pf__av_job *job = p->job;
    int64_t now = av_gettime_relative();
    pf_fix_progress pr;

    if (!job->progress || (!done && now - p->last < 100000))
        return;
    p->last = now;
    memset(&pr, 0, sizeof pr);
    pr.field = job->field;
    pr.source = job->src;
    pr.attempt = job->attempt;
    pr.frames = frames;
    pr.total_frames = job->expect_frames > 0 ? job->expect_frames : -1;
    pr.position = position;
    pr.duration = job->expect_duration > 0 ? job->expect_duration : -1;
    pr.elapsed = (double)(now - p->start) / 1e6;
    pr.speed = pr.elapsed > 0 ? position / pr.elapsed : 0;
    pr.eta = pr.speed > 0 && pr.duration > 0 ? fmax(0, (pr.duration - position) / pr.speed)
                                              : -1;
    pr.done = done;
    job->progress(job->userdata, &pr);
}

/* ---- remux ---- */

pf_err pf__av_remux(pf_ctx *ctx, const struct pf__av_job *job,
                    struct pf__av_written *w)
{
    AVFormatContext *in = NULL, *oc = NULL;
    AVPacket *pkt = av_packet_alloc();
    int map[2] = { -1, -1 }, out_index[2] = { -1, -1 }, err;
    struct progress prog = { job, av_gettime_relative(), 0 };
    double position = 0;
    int64_t packets = 0;
    char reason[128];
    pf_err rc;

    memset(w, 0, sizeof *w);
    if (!pkt) {
        rc = pf__error(ctx, PF_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = open_input(ctx, job->src, job->max_pixels, &in)) ||
        (rc = alloc_output(ctx, job, &oc)))
        goto out;
    pick_streams(in, &map[0], &map[1]);
    if (!job->audio)
        map[1] = -1;
    for (int k = 0; k < 2; k++) {
        const AVStream *ist;
        AVStream *ost;
        size_t size = 0;
        const uint8_t *matrix;

        if (map[k] < 0)
            continue;
        ist = in->streams[map[k]];
        if (!(ost = avformat_new_stream(oc, NULL)) ||
            avcodec_parameters_copy(ost->codecpar, ist->codecpar) < 0) {
            rc = pf__error(ctx, PF_ENOMEM, "out of memory");
            goto out;
        }
        /* The MP4 muxer picks the tag for the codec ("avc1", "mp4a"); a
         * QuickTime or Matroska tag would be wrong there. */
        ost->codecpar->codec_tag = 0;
        ost->time_base = ist->time_base;
        /* Streams that already comply keep their rotation: the displayed
         * size is what the rules judged. */
        if ((matrix = av_stream_get_side_data(ist, AV_PKT_DATA_DISPLAYMATRIX, &size))) {
            uint8_t *copy = av_stream_new_side_data(ost, AV_PKT_DATA_DISPLAYMATRIX, size);

            if (!copy) {
                rc = pf__error(ctx, PF_ENOMEM, "out of memory");
                goto out;
            }
            memcpy(copy, matrix, size);
        }
        out_index[k] = ost->index;
    }
    if ((rc = open_output(ctx, job, oc)))
        goto out;
    for (;;) {
        int k;

        if (ctx->interrupted) {
            rc = interrupted(ctx, job->src);
            goto out;
        }
        if ((err = av_read_frame(in, pkt)) == AVERROR_EOF)
            break;
        if (err < 0) {
            rc = ctx->interrupted ? interrupted(ctx, job->src)
               : pf__error(ctx, PF_ECORRUPT, "%s: cannot read at %.1f s (%s)", job->src,
                           position, av_reason(err, reason, sizeof reason));
            goto out;
        }
        k = pkt->stream_index == map[0] ? 0 : pkt->stream_index == map[1] ? 1 : -1;
        if (k < 0) {
            av_packet_unref(pkt);
            continue;
        }
        if (k == 0 && pkt->pts != AV_NOPTS_VALUE)
            position = (double)pkt->pts * av_q2d(in->streams[map[0]]->time_base);
        if (k == 0) {
            w->video_bytes += pkt->size;
            packets++;
        }
        av_packet_rescale_ts(pkt, in->streams[map[k]]->time_base,
                             oc->streams[out_index[k]]->time_base);
        pkt->stream_index = out_index[k];
        pkt->pos = -1;
        if ((err = av_interleaved_write_frame(oc, pkt)) < 0) {
            rc = write_error(ctx, job, err);
            goto out;
        }
        report(&prog, packets, position, 0);
    }
    if ((rc = close_output(ctx, job, oc, w)))
        goto out;
    w->frames = packets;
    report(&prog, packets, position, 1);
out:
    av_packet_free(&pkt);
    free_output(&oc);
    avformat_close_input(&in);
    return rc;
}

/* ---- transcode ---- */

struct tc {
    pf_ctx *ctx;
    const struct pf__av_job *job;
    AVFormatContext *in, *oc;
    int vi, ai;
    AVStream *vin, *ain, *vout, *aout;
    AVCodecContext *vdec, *adec, *venc, *aenc;
    AVPacket *pkt, *opkt;
    AVFrame *frame, *send;
    /* pictures */
    struct SwsContext *sws, *blur_down, *blur_up;
    AVFrame *scaled, *rotated, *canvas, *tiny;
    int identity;               /* frames go to the encoder as decoded */
    int grid;                   /* a new constant frame rate */
    AVFrame *held;              /* grid: the latest frame, not yet shown */
    int64_t held_end;           /* grid: the slot its display ends at */
    AVFrame *ready;             /* held, transformed; NULL until needed */
    int64_t next_slot, frames_out, last_pts, origin;
    double frame_dur;           /* seconds, from the stream's rate */
    int video_done;
    /* sound */
    SwrContext *swr;
    AVAudioFifo *fifo;
    int64_t audio_pts, audio_max, audio_skip;
    int audio_started, audio_done;
    struct progress prog;
    struct pf__av_written *w;
};

static pf_err no_memory(struct tc *t)
{
    return pf__error(t->ctx, PF_ENOMEM, "%s: out of memory", t->job->src);
}

static pf_err open_decoder(struct tc *t, AVStream *st, AVCodecContext **out)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    AVDictionary *opts = NULL;
    char limit[32], reason[128];
    int err;

    if (!codec)
        return pf__error(t->ctx, PF_EFORMAT, "%s: no decoder for %s", t->job->src,
                         avcodec_get_name(st->codecpar->codec_id));
    if (!(*out = avcodec_alloc_context3(codec)) ||
        avcodec_parameters_to_context(*out, st->codecpar) < 0)
        return no_memory(t);
    (*out)->pkt_timebase = st->time_base;
    snprintf(limit, sizeof limit, "%lld", (long long)t->job->max_pixels);
    av_dict_set(&opts, "max_pixels", limit, 0);
    av_dict_set(&opts, "threads", "auto", 0);
    err = avcodec_open2(*out, codec, &opts);
    av_dict_free(&opts);
    if (err < 0)
        return pf__error(t->ctx, PF_EFORMAT, "%s: cannot decode %s (%s)", t->job->src,
                         codec->name, av_reason(err, reason, sizeof reason));
    return PF_OK;
}

static pf_err open_video_encoder(struct tc *t)
{
    const struct pf__av_job *job = t->job;
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    const AVCodecParameters *par = t->vin->codecpar;
    AVCodecContext *e;
    char reason[128], crf[16];
    int err;

    if (!codec)
        return pf__error(t->ctx, PF_EINTERNAL, "this libavcodec has no libx264 encoder");
    if (!(e = t->venc = avcodec_alloc_context3(codec)))
        return no_memory(t);
    e->width = job->out_w;
    e->height = job->out_h;
    e->pix_fmt = AV_PIX_FMT_YUV420P;
    e->sample_aspect_ratio = (AVRational){ 1, 1 };
    if (t->grid) {
        e->time_base = (AVRational){ job->fps_den, job->fps_num };
        e->framerate = (AVRational){ job->fps_num, job->fps_den };
    } else {
        e->time_base = t->vin->time_base;
        e->framerate = av_guess_frame_rate(t->in, t->vin, NULL);
    }
    /* Full-range sources scaled by libswscale come out in video range;
     * only frames passed through as decoded keep theirs. */
    e->color_range = t->identity && par->color_range == AVCOL_RANGE_JPEG
                     ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    e->color_primaries = par->color_primaries;
    e->color_trc = par->color_trc;
    e->colorspace = par->color_space;
    e->thread_count = 0;
    if (job->video_rate > 0) {
        e->bit_rate = job->video_rate;
        e->rc_max_rate = job->max_rate;
        e->rc_buffer_size = (int)fmin(INT32_MAX, (double)job->buffer);
    } else {
        snprintf(crf, sizeof crf, "%d", PF__X264_CRF);
        av_opt_set(e->priv_data, "crf", crf, 0);
    }
    av_opt_set(e->priv_data, "preset", PF__X264_PRESET, 0);
    av_opt_set(e->priv_data, "profile", "high", 0);
    if (t->oc->oformat->flags & AVFMT_GLOBALHEADER)
        e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((err = avcodec_open2(e, codec, NULL)) < 0)
        return pf__error(t->ctx, PF_EINTERNAL, "%s: cannot open the H.264 encoder at "
                         "%d×%d (%s)", t->job->src, job->out_w, job->out_h,
                         av_reason(err, reason, sizeof reason));
    if (!(t->vout = avformat_new_stream(t->oc, NULL)) ||
        avcodec_parameters_from_context(t->vout->codecpar, e) < 0)
        return no_memory(t);
    t->vout->time_base = e->time_base;
    t->vout->avg_frame_rate = e->framerate;
    return PF_OK;
}

static int pick_rate(int rate)
{
    for (int i = 0; aac_rates[i]; i++)
        if (aac_rates[i] == rate)
            return rate;
    return 48000;
}

static pf_err open_audio_encoder(struct tc *t)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    AVCodecContext *e;
    char reason[128];
    int err;

    if (!codec)
        return pf__error(t->ctx, PF_EINTERNAL, "this libavcodec has no AAC encoder");
    if (!(e = t->aenc = avcodec_alloc_context3(codec)))
        return no_memory(t);
    e->sample_fmt = AV_SAMPLE_FMT_FLTP;
    e->sample_rate = pick_rate(t->adec->sample_rate);
    /* Mono stays mono; everything else is heard as stereo. */
    av_channel_layout_default(&e->ch_layout, t->adec->ch_layout.nb_channels == 1 ? 1 : 2);
    e->bit_rate = t->job->audio_rate;
    e->time_base = (AVRational){ 1, e->sample_rate };
    if (t->oc->oformat->flags & AVFMT_GLOBALHEADER)
        e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((err = avcodec_open2(e, codec, NULL)) < 0)
        return pf__error(t->ctx, PF_EINTERNAL, "%s: cannot open the AAC encoder (%s)",
                         t->job->src, av_reason(err, reason, sizeof reason));
    if (!(t->aout = avformat_new_stream(t->oc, NULL)) ||
        avcodec_parameters_from_context(t->aout->codecpar, e) < 0)
        return no_memory(t);
    t->aout->time_base = e->time_base;
    if (!(t->fifo = av_audio_fifo_alloc(e->sample_fmt, e->ch_layout.nb_channels,
                                        e->frame_size > 0 ? e->frame_size * 2 : 2048)))
        return no_memory(t);
    if (t->job->audio_seconds > 0)
        t->audio_max = (int64_t)floor(t->job->audio_seconds * e->sample_rate);
    else
        t->audio_max = -1;
    return PF_OK;
}

/* Writes every packet the encoder has ready. */
static pf_err drain(struct tc *t, AVCodecContext *enc, AVStream *ost)
{
    int err;

    while ((err = avcodec_receive_packet(enc, t->opkt)) >= 0) {
        av_packet_rescale_ts(t->opkt, enc->time_base, ost->time_base);
        t->opkt->stream_index = ost->index;
        if (ost == t->vout)
            t->w->video_bytes += t->opkt->size;
        if ((err = av_interleaved_write_frame(t->oc, t->opkt)) < 0)
            return write_error(t->ctx, t->job, err);
    }
    if (err != AVERROR(EAGAIN) && err != AVERROR_EOF) {
        char reason[128];

        return pf__error(t->ctx, PF_EINTERNAL, "%s: the %s encoder failed (%s)",
                         t->job->src, enc->codec->name, av_reason(err, reason, sizeof reason));
    }
    return PF_OK;
}

static pf_err encode(struct tc *t, AVCodecContext *enc, AVStream *ost, AVFrame *f)
{
    int err = avcodec_send_frame(enc, f);

    if (err < 0 && err != AVERROR_EOF) {
        char reason[128];

        return pf__error(t->ctx, PF_EINTERNAL, "%s: the %s encoder refused a frame (%s)",
                         t->job->src, enc->codec->name, av_reason(err, reason, sizeof reason));
    }
    return drain(t, enc, ost);
}

static pf_err new_picture(struct tc *t, AVFrame **f, int w, int h)
{
    if (!(*f = av_frame_alloc()))
        return no_memory(t);
    (*f)->format = AV_PIX_FMT_YUV420P;
    (*f)->width = w;
    (*f)->height = h;
    if (av_frame_get_buffer(*f, 0) < 0)
        return no_memory(t);
    return PF_OK;
}

/* The pad colour in video-range BT.601 YUV: what a player shows as that
 * colour whatever the matrix, to within a few levels. */
static void fill_solid(AVFrame *f, uint32_t rgb)
{
    double r = (rgb >> 16) & 255, g = (rgb >> 8) & 255, b = rgb & 255;
    int y = (int)lrint(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
    int u = (int)lrint(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255);
    int v = (int)lrint(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255);
    int value[3] = { y, u, v };

    for (int p = 0; p < 3; p++) {
        int w = p ? (f->width + 1) / 2 : f->width, h = p ? (f->height + 1) / 2 : f->height;

        for (int row = 0; row < h; row++)
            memset(f->data[p] + (ptrdiff_t)row * f->linesize[p], value[p], (size_t)w);
    }
}

/* Turns src clockwise by rotation degrees into dst (sizes swapped for 90
 * and 270), plane by plane. */
static void rotate(const AVFrame *src, AVFrame *dst, int rotation)
{
    for (int p = 0; p < 3; p++) {
        int sw = p ? (src->width + 1) / 2 : src->width;
        int sh = p ? (src->height + 1) / 2 : src->height;
        int dw = p ? (dst->width + 1) / 2 : dst->width;
        int dh = p ? (dst->height + 1) / 2 : dst->height;
        const uint8_t *s = src->data[p];
        ptrdiff_t ss = src->linesize[p];

        for (int y = 0; y < dh; y++) {
            uint8_t *d = dst->data[p] + (ptrdiff_t)y * dst->linesize[p];

            /* Displayed (x, y) comes from stored (sx, sy). */
            if (rotation == 90)
                for (int x = 0; x < dw; x++)
                    d[x] = s[(ptrdiff_t)(sh - 1 - x) * ss + y];
            else if (rotation == 270)
                for (int x = 0; x < dw; x++)
                    d[x] = s[(ptrdiff_t)x * ss + (sw - 1 - y)];
            else
                for (int x = 0; x < dw; x++)
                    d[x] = s[(ptrdiff_t)(sh - 1 - y) * ss + (sw - 1 - x)];
        }
    }
}

/* The kept region of a decoded frame as data pointers into it. The region
 * is given in displayed pixels; it is mapped back through the rotation and
 * the sample aspect ratio to stored pixels, and its corner moved to the
 * chroma grid so every plane starts on a whole sample. */
static void source_region(const struct tc *t, const AVFrame *f, const uint8_t *data[4],
                          int *rw, int *rh)
{
    const struct pf__av_job *job = t->job;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    int turned = job->rotation == 90 || job->rotation == 270;
    double pre_w = turned ? job->disp_h : job->disp_w, pre_h = turned ? job->disp_w : job->disp_h;
    double x, y, w, h, fx, fy;
    int cx, cy, cw, ch, ax, ay;

    /* The region before the rotation (see rotate()). */
    switch (job->rotation) {
    case 90:
        x = job->crop_y; y = pre_h - job->crop_x - job->crop_w;
        w = job->crop_h; h = job->crop_w;
        break;
    case 270:
        x = pre_w - job->crop_y - job->crop_h; y = job->crop_x;
        w = job->crop_h; h = job->crop_w;
        break;
    case 180:
        x = pre_w - job->crop_x - job->crop_w; y = pre_h - job->crop_y - job->crop_h;
        w = job->crop_w; h = job->crop_h;
        break;
    default:
        x = job->crop_x; y = job->crop_y; w = job->crop_w; h = job->crop_h;
        break;
    }
    fx = f->width / pre_w;
    fy = f->height / pre_h;
    ax = 1 << d->log2_chroma_w;
    ay = 1 << d->log2_chroma_h;
    cx = (int)lrint(x * fx) / ax * ax;
    cy = (int)lrint(y * fy) / ay * ay;
    cw = (int)lrint(w * fx);
    ch = (int)lrint(h * fy);
    cx = cx < 0 ? 0 : cx;
    cy = cy < 0 ? 0 : cy;
    cw = cw < 1 ? 1 : cw > f->width - cx ? f->width - cx : cw;
    ch = ch < 1 ? 1 : ch > f->height - cy ? f->height - cy : ch;
    for (int p = 0; p < 4; p++) {
        int step = 0, chroma = p == 1 || p == 2;

        data[p] = f->data[p];
        if (!f->data[p])
            continue;
        for (int c = 0; c < d->nb_components; c++)
            if (d->comp[c].plane == p && d->comp[c].step > step)
                step = d->comp[c].step;
        if (chroma && !(d->flags & AV_PIX_FMT_FLAG_RGB))
            data[p] += (ptrdiff_t)(cy >> d->log2_chroma_h) * f->linesize[p] +
                       (ptrdiff_t)(cx >> d->log2_chroma_w) * step;
        else
            data[p] += (ptrdiff_t)cy * f->linesize[p] + (ptrdiff_t)cx * step;
    }
    *rw = cw;
    *rh = ch;
}

/* Formats whose planes can be cut by pointer: everything but palettes,
 * bit-packed and hardware frames, which are converted whole first. */
static int croppable(int format)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(format);

    return d && !(d->flags & (AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM |
                              AV_PIX_FMT_FLAG_HWACCEL));
}

/* The frame to encode for a decoded one: itself, or cropped, scaled,
 * rotated and padded into our own buffers. */
static pf_err transform(struct tc *t, AVFrame *f, AVFrame **out)
{
    const struct pf__av_job *job = t->job;
    int turned = job->rotation == 90 || job->rotation == 270;
    int sw = turned ? job->img_h : job->img_w, sh = turned ? job->img_w : job->img_h;
    const uint8_t *data[4];
    int rw, rh, err;
    AVFrame *target;

    if (t->identity && f->format == AV_PIX_FMT_YUV420P && f->width == job->out_w &&
        f->height == job->out_h) {
        *out = f;
        return PF_OK;
    }
    if (!croppable(f->format))
        return pf__error(t->ctx, PF_EFORMAT, "%s: frames in %s pixels cannot be "
                         "converted", job->src, av_get_pix_fmt_name(f->format));
    if (!t->scaled && (err = new_picture(t, &t->scaled, sw, sh)))
        return err;
    if (job->rotation && !t->rotated && (err = new_picture(t, &t->rotated, job->img_w,
                                                           job->img_h)))
        return err;
    if (job->pad && !t->canvas && (err = new_picture(t, &t->canvas, job->out_w, job->out_h)))
        return err;
    source_region(t, f, data, &rw, &rh);
    t->sws = sws_getCachedContext(t->sws, rw, rh, f->format, sw, sh, AV_PIX_FMT_YUV420P,
                                  SWS_LANCZOS | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!t->sws)
        return pf__error(t->ctx, PF_EFORMAT, "%s: cannot scale %s frames", job->src,
                         av_get_pix_fmt_name(f->format));
    {
        /* Video range out, whatever came in: tell libswscale when a frame
         * is full range without a yuvj format to say so. */
        int *inv, *tab, src_range, dst_range, b, c, s;

        if (sws_getColorspaceDetails(t->sws, &inv, &src_range, &tab, &dst_range, &b, &c,
                                     &s) >= 0 && f->color_range == AVCOL_RANGE_JPEG &&
            !src_range)
            sws_setColorspaceDetails(t->sws, inv, 1, tab, 0, b, c, s);
    }
    if (av_frame_make_writable(t->scaled) < 0)
        return no_memory(t);
    sws_scale(t->sws, data, f->linesize, 0, rh, t->scaled->data, t->scaled->linesize);
    target = t->scaled;
    if (job->rotation) {
        if (av_frame_make_writable(t->rotated) < 0)
            return no_memory(t);
        rotate(t->scaled, t->rotated, job->rotation);
        target = t->rotated;
    }
    if (job->pad) {
        AVFrame *c = t->canvas;

        if (av_frame_make_writable(c) < 0)
            return no_memory(t);
        if (job->blur_fill) {
            /* The picture itself, shrunk to a few pixels and enlarged
             * again over the whole canvas: a soft backdrop. */
            int tw = job->out_w / 24 > 2 ? job->out_w / 24 : 2;
            int th = job->out_h / 24 > 2 ? job->out_h / 24 : 2;

            if (!t->tiny && (err = new_picture(t, &t->tiny, tw, th)))
                return err;
            t->blur_down = sws_getCachedContext(t->blur_down, target->width, target->height,
                                                AV_PIX_FMT_YUV420P, tw, th,
                                                AV_PIX_FMT_YUV420P, SWS_AREA, NULL, NULL,
                                                NULL);
            t->blur_up = sws_getCachedContext(t->blur_up, tw, th, AV_PIX_FMT_YUV420P,
                                              job->out_w, job->out_h, AV_PIX_FMT_YUV420P,
                                              SWS_BILINEAR, NULL, NULL, NULL);
            if (!t->blur_down || !t->blur_up || av_frame_make_writable(t->tiny) < 0)
                return no_memory(t);
            sws_scale(t->blur_down, (const uint8_t *const *)target->data, target->linesize,
                      0, target->height, t->tiny->data, t->tiny->linesize);
            sws_scale(t->blur_up, (const uint8_t *const *)t->tiny->data, t->tiny->linesize,
                      0, th, c->data, c->linesize);
        } else {
            fill_solid(c, job->pad_rgb);
        }
        for (int p = 0; p < 3; p++) {
            int x = p ? job->img_x / 2 : job->img_x, y = p ? job->img_y / 2 : job->img_y;
            int w = p ? (target->width + 1) / 2 : target->width;
            int h = p ? (target->height + 1) / 2 : target->height;

            for (int row = 0; row < h; row++)
                memcpy(c->data[p] + (ptrdiff_t)(y + row) * c->linesize[p] + x,
                       target->data[p] + (ptrdiff_t)row * target->linesize[p], (size_t)w);
        }
        target = c;
    }
    *out = target;
    return PF_OK;
}

static double position(const struct tc *t)
{
    if (t->grid)
        return (double)t->next_slot * t->job->fps_den / t->job->fps_num;
    return t->last_pts > 0 ? (double)t->last_pts * av_q2d(t->vin->time_base) : 0;
}

/* Sends one picture to the encoder with pts in its time base. */
static pf_err emit(struct tc *t, AVFrame *picture, int64_t pts)
{
    pf_err rc;

    if (av_frame_ref(t->send, picture) < 0)
        return no_memory(t);
    t->send->pts = pts;
    /* A decoded frame's type would force key frames where the source had
     * them; the encoder chooses its own. */
    t->send->pict_type = AV_PICTURE_TYPE_NONE;
    t->send->sample_aspect_ratio = (AVRational){ 1, 1 };
    rc = encode(t, t->venc, t->vout, t->send);
    av_frame_unref(t->send);
    t->frames_out++;
    t->w->frames = t->frames_out;
    report(&t->prog, t->frames_out, position(t), 0);
    return rc;
}

/* Grid: shows the held frame in every slot before limit. */
static pf_err show_held(struct tc *t, int64_t limit)
{
    pf_err rc;

    if (t->job->max_frames >= 0 && limit > t->job->max_frames)
        limit = t->job->max_frames;
    while (t->next_slot < limit) {
        if (!t->ready && (rc = transform(t, t->held, &t->ready)))
            return rc;
        if ((rc = emit(t, t->ready, t->next_slot)))
            return rc;
        t->next_slot++;
    }
    if (t->job->max_frames >= 0 && t->next_slot >= t->job->max_frames)
        t->video_done = 1;
    return PF_OK;
}

static pf_err on_video_frame(struct tc *t, AVFrame *f)
{
    const struct pf__av_job *job = t->job;
    double tb = av_q2d(t->vin->time_base), at, dur;
    int64_t ts = f->best_effort_timestamp;
    pf_err rc;

    if (ts == AV_NOPTS_VALUE)
        ts = t->last_pts + 1 + t->origin;
    at = (double)(ts - t->origin) * tb;
    dur = f->pkt_duration > 0 ? (double)f->pkt_duration * tb : t->frame_dur;
    /* Before the start: pre-roll an edit list cut away. */
    if (at < -dur / 2)
        return PF_OK;
    if (t->grid) {
        double rate = (double)job->fps_num / job->fps_den;
        int64_t slot = (int64_t)floor(at * rate + 0.5);

        if (t->held && (rc = show_held(t, slot)))
            return rc;
        av_frame_unref(t->held);
        av_frame_move_ref(t->held, f);
        t->ready = NULL;
        t->held_end = (int64_t)floor((at + dur) * rate + 0.5);
        return PF_OK;
    }
    if ((job->max_duration > 0 && at + dur > job->max_duration + 1e-6) ||
        (job->max_frames >= 0 && t->frames_out >= job->max_frames)) {
        t->video_done = 1;
        return PF_OK;
    }
    {
        AVFrame *picture;
        int64_t pts = ts - t->origin;

        if (t->frames_out && pts <= t->last_pts)
            pts = t->last_pts + 1;
        t->last_pts = pts;
        if ((rc = transform(t, f, &picture)))
            return rc;
        return emit(t, picture, pts);
    }
}

static pf_err decode_error(struct tc *t, AVCodecContext *dec, int err)
{
    char reason[128];

    return pf__error(t->ctx, PF_ECORRUPT, "%s: the %s stream fails at %.1f s (%s)",
                     t->job->src, dec->codec->name, position(t),
                     av_reason(err, reason, sizeof reason));
}

/* Sends a packet (NULL: the end) to the video decoder and handles the
 * frames it gives back. */
static pf_err decode_video(struct tc *t, const AVPacket *pkt)
{
    int err = avcodec_send_packet(t->vdec, pkt);
    pf_err rc;

    if (err < 0 && err != AVERROR_EOF)
        return decode_error(t, t->vdec, err);
    while (!t->video_done && (err = avcodec_receive_frame(t->vdec, t->frame)) >= 0) {
        rc = on_video_frame(t, t->frame);
        av_frame_unref(t->frame);
        if (rc)
            return rc;
    }
    if (!t->video_done && err != AVERROR(EAGAIN) && err != AVERROR_EOF)
        return decode_error(t, t->vdec, err);
    return PF_OK;
}

/* Encodes whole frames from the FIFO; at the end (flush), what is left. */
static pf_err encode_audio(struct tc *t, int flush)
{
    int size = t->aenc->frame_size > 0 ? t->aenc->frame_size : 1024;
    pf_err rc;

    while (!t->audio_done && (av_audio_fifo_size(t->fifo) >= size ||
                              (flush && av_audio_fifo_size(t->fifo) > 0))) {
        AVFrame *f = av_frame_alloc();
        int n = av_audio_fifo_size(t->fifo) < size ? av_audio_fifo_size(t->fifo) : size;

        if (t->audio_max >= 0 && t->audio_pts + n >= t->audio_max) {
            n = (int)(t->audio_max - t->audio_pts);
            t->audio_done = 1;
        }
        if (!f)
            return no_memory(t);
        if (n <= 0) {
            av_frame_free(&f);
            break;
        }
        f->nb_samples = n;
        f->format = t->aenc->sample_fmt;
        f->sample_rate = t->aenc->sample_rate;
        if (av_channel_layout_copy(&f->ch_layout, &t->aenc->ch_layout) < 0 ||
            av_frame_get_buffer(f, 0) < 0 ||
            av_audio_fifo_read(t->fifo, (void **)f->data, n) < n) {
            av_frame_free(&f);
            return no_memory(t);
        }
        f->pts = t->audio_pts;
        t->audio_pts += n;
        rc = encode(t, t->aenc, t->aout, f);
        av_frame_free(&f);
        if (rc)
            return rc;
    }
    return PF_OK;
}

/* Resamples a decoded frame (NULL: what the resampler still holds) into
 * the FIFO, dropping samples before the video's start. */
static pf_err resample(struct tc *t, const AVFrame *f)
{
    uint8_t **buf = NULL;
    int cap, got, skip;
    pf_err rc = PF_OK;

    if (!t->swr) {
        AVChannelLayout in = { 0 };

        if (!f)
            return PF_OK;
        if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
            av_channel_layout_default(&in, f->ch_layout.nb_channels);
        else if (av_channel_layout_copy(&in, &f->ch_layout) < 0)
            return no_memory(t);
        if (swr_alloc_set_opts2(&t->swr, &t->aenc->ch_layout, t->aenc->sample_fmt,
                                t->aenc->sample_rate, &in, f->format, f->sample_rate,
                                0, NULL) < 0 || swr_init(t->swr) < 0) {
            av_channel_layout_uninit(&in);
            return pf__error(t->ctx, PF_EFORMAT, "%s: cannot convert its %d-channel "
                             "audio", t->job->src, f->ch_layout.nb_channels);
        }
        av_channel_layout_uninit(&in);
    }
    if (f && !t->audio_started) {
        /* Where the sound starts against the picture. */
        int64_t origin = av_rescale_q(t->origin, t->vin->time_base, t->ain->time_base);
        double at = f->best_effort_timestamp == AV_NOPTS_VALUE ? 0
                  : (double)(f->best_effort_timestamp - origin) * av_q2d(t->ain->time_base);
        int64_t offset = (int64_t)llrint(at * t->aenc->sample_rate);

        t->audio_started = 1;
        if (offset < 0)
            t->audio_skip = -offset;
        else
            t->audio_pts = offset;
    }
    cap = swr_get_out_samples(t->swr, f ? f->nb_samples : 0);
    if (cap <= 0)
        return PF_OK;
    if (av_samples_alloc_array_and_samples(&buf, NULL, t->aenc->ch_layout.nb_channels, cap,
                                           t->aenc->sample_fmt, 0) < 0)
        return no_memory(t);
    got = swr_convert(t->swr, buf, cap, f ? (const uint8_t **)f->extended_data : NULL,
                      f ? f->nb_samples : 0);
    if (got < 0) {
        rc = pf__error(t->ctx, PF_EFORMAT, "%s: cannot resample the audio", t->job->src);
        goto out;
    }
    skip = (int)(t->audio_skip < got ? t->audio_skip : got);
    t->audio_skip -= skip;
    if (got > skip) {
        uint8_t *planes[AV_NUM_DATA_POINTERS];
        int bps = av_get_bytes_per_sample(t->aenc->sample_fmt);

        for (int c = 0; c < t->aenc->ch_layout.nb_channels && c < AV_NUM_DATA_POINTERS; c++)
            planes[c] = buf[c] + (ptrdiff_t)skip * bps;
        if (av_audio_fifo_write(t->fifo, (void **)planes, got - skip) < got - skip)
            rc = no_memory(t);
    }
out:
    if (buf)
        av_freep(&buf[0]);
    av_freep(&buf);
    return rc;
}

static pf_err decode_audio(struct tc *t, const AVPacket *pkt)
{
    int err = avcodec_send_packet(t->adec, pkt);
    pf_err rc;

    /* Broken audio is not worth failing a video for: the packet is
     * skipped, as players do. */
    if (err < 0 && err != AVERROR_EOF && err != AVERROR_INVALIDDATA)
        return decode_error(t, t->adec, err);
    while (!t->audio_done && (err = avcodec_receive_frame(t->adec, t->frame)) >= 0) {
        rc = resample(t, t->frame);
        av_frame_unref(t->frame);
        if (rc || (rc = encode_audio(t, 0)))
            return rc;
    }
    return PF_OK;
}

static pf_err setup(struct tc *t)
{
    const struct pf__av_job *job = t->job;
    AVRational rate;
    pf_err rc;

    if ((rc = open_input(t->ctx, job->src, job->max_pixels, &t->in)) ||
        (rc = alloc_output(t->ctx, job, &t->oc)))
        return rc;
    pick_streams(t->in, &t->vi, &t->ai);
    if (t->vi < 0)
        return pf__error(t->ctx, PF_EFORMAT, "%s: no video stream", job->src);
    t->vin = t->in->streams[t->vi];
    t->ain = t->ai >= 0 && job->audio ? t->in->streams[t->ai] : NULL;
    t->origin = t->vin->start_time != AV_NOPTS_VALUE ? t->vin->start_time : 0;
    rate = av_guess_frame_rate(t->in, t->vin, NULL);
    t->frame_dur = rate.num > 0 && rate.den > 0 ? av_q2d(av_inv_q(rate)) : 1.0 / 25;
    t->grid = job->fps_num > 0 && job->fps_den > 0;
    t->identity = !job->rotation && !job->pad && job->crop_x == 0 && job->crop_y == 0 &&
                  job->crop_w == job->disp_w && job->crop_h == job->disp_h &&
                  job->out_w == t->vin->codecpar->width &&
                  job->out_h == t->vin->codecpar->height &&
                  job->disp_w == t->vin->codecpar->width &&
                  job->disp_h == t->vin->codecpar->height;
    if ((rc = open_decoder(t, t->vin, &t->vdec)) || (rc = open_video_encoder(t)))
        return rc;
    if (t->ain && ((rc = open_decoder(t, t->ain, &t->adec)) ||
                   (rc = open_audio_encoder(t))))
        return rc;
    if (!(t->pkt = av_packet_alloc()) || !(t->opkt = av_packet_alloc()) ||
        !(t->frame = av_frame_alloc()) || !(t->send = av_frame_alloc()) ||
        !(t->held = av_frame_alloc()))
        return no_memory(t);
    return open_output(t->ctx, job, t->oc);
}

static pf_err run(struct tc *t)
{
    const struct pf__av_job *job = t->job;
    char reason[128];
    int err;
    pf_err rc;

    for (;;) {
        if (t->ctx->interrupted)
            return interrupted(t->ctx, job->src);
        if (t->video_done && (!t->ain || t->audio_done))
            break;
        if ((err = av_read_frame(t->in, t->pkt)) == AVERROR_EOF)
            break;
        if (err < 0)
            return t->ctx->interrupted ? interrupted(t->ctx, job->src)
                 : pf__error(t->ctx, PF_ECORRUPT, "%s: cannot read at %.1f s (%s)",
                             job->src, position(t), av_reason(err, reason, sizeof reason));
        rc = PF_OK;
        if (t->pkt->stream_index == t->vi && !t->video_done)
            rc = decode_video(t, t->pkt);
        else if (t->ain && t->pkt->stream_index == t->ai && !t->audio_done)
            rc = decode_audio(t, t->pkt);
        av_packet_unref(t->pkt);
        if (rc)
            return rc;
    }
    /* The end: what the decoders, the held frame and the encoders keep. */
    if (!t->video_done && (rc = decode_video(t, NULL)))
        return rc;
    /* The last frame lasts until its own end: a frame whose slots all
     * went to others is dropped, unless it is the only one. */
    if (t->grid && t->held->buf[0] &&
        (rc = show_held(t, t->frames_out ? t->held_end : t->next_slot + 1)))
        return rc;
    if (t->frames_out == 0)
        return pf__error(t->ctx, PF_ECORRUPT, "%s: no picture could be decoded", job->src);
    if ((rc = encode(t, t->venc, t->vout, NULL)))
        return rc;
    if (t->ain) {
        if (!t->audio_done && (rc = decode_audio(t, NULL)))
            return rc;
        if ((!t->audio_done && t->swr && (rc = resample(t, NULL))) ||
            (rc = encode_audio(t, 1)) || (rc = encode(t, t->aenc, t->aout, NULL)))
            return rc;
    }
    if ((rc = close_output(t->ctx, job, t->oc, t->w)))
        return rc;
    report(&t->prog, t->frames_out, position(t), 1);
    return PF_OK;
}

pf_err pf__av_transcode(pf_ctx *ctx, const struct pf__av_job *job,
                        struct pf__av_written *w)
{
    struct tc t;
    pf_err rc;

    memset(&t, 0, sizeof t);
    memset(w, 0, sizeof *w);
    t.ctx = ctx;
    t.job = job;
    t.w = w;
    t.prog.job = job;
    t.prog.start = av_gettime_relative();
    if (!(rc = setup(&t)))
        rc = run(&t);
    w->duration = position(&t);
    free_output(&t.oc);
    avformat_close_input(&t.in);
    avcodec_free_context(&t.vdec);
    avcodec_free_context(&t.adec);
    avcodec_free_context(&t.venc);
    avcodec_free_context(&t.aenc);
    av_packet_free(&t.pkt);
    av_packet_free(&t.opkt);
    av_frame_free(&t.frame);
    av_frame_free(&t.send);
    av_frame_free(&t.held);
    av_frame_free(&t.scaled);
    av_frame_free(&t.rotated);
    av_frame_free(&t.canvas);
    av_frame_free(&t.tiny);
    sws_freeContext(t.sws);
    sws_freeContext(t.blur_down);
    sws_freeContext(t.blur_up);
    swr_free(&t.swr);
    if (t.fifo)
        av_audio_fifo_free(t.fifo);
    return rc;
}
