"""Image decoding as Zoobot does it: real JPEGs, greyscale/RGBA, zoom, FITS bands, bad files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from raregal.encode.images import (
    ImageError,
    Preprocessing,
    arcsinh_stretch,
    bands_to_channels,
    load_image,
)


def test_real_cutouts_of_every_size_become_square_rgb(gz_examples):
    """DECaLS 424 px and SDSS 320/424/512 px JPEGs all come out (3, 64, 64) uint8, not blank."""
    images = sorted((gz_examples / "images").glob("*.jpg"))
    sizes = {}
    for path in images:
        with Image.open(path) as im:
            sizes.setdefault(im.size, path)
    assert len(sizes) >= 3  # 320, 424 and 512 px cutouts are all present
    for path in sizes.values():
        array = load_image(path, Preprocessing(image_size=64))
        assert array.shape == (3, 64, 64) and array.dtype == np.uint8
        assert array.std() > 5  # a galaxy, not a constant


def test_real_cutout_matches_a_plain_pillow_resize(gz_examples):
    """The reduced-scale JPEG decode (draft) stays close to a full decode + resize."""
    path = next(iter(sorted((gz_examples / "images").glob("decals-*.jpg"))))
    ours = load_image(path, Preprocessing(image_size=64)).astype(float)
    with Image.open(path) as im:
        plain = np.asarray(im.convert("RGB").resize((64, 64), Image.Resampling.BILINEAR), float)
    assert np.abs(ours - plain.transpose(2, 0, 1)).mean() < 6.0  # of 255 levels


def test_greyscale_and_rgba_become_rgb(tmp_path, rng):
    grey = (rng.random((40, 40)) * 255).astype(np.uint8)
    Image.fromarray(grey, mode="L").save(tmp_path / "grey.png")
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    rgba[:20, :, 3] = 0  # transparent top half: composited on black
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "rgba.png")

    out = load_image(tmp_path / "grey.png", Preprocessing(image_size=40))
    assert out.shape == (3, 40, 40)
    np.testing.assert_array_equal(out[0], out[1])
    rgb = load_image(tmp_path / "rgba.png", Preprocessing(image_size=40))
    assert rgb[0, 30].min() == 200 and rgb[0, 5].max() == 0 and rgb[1:].max() == 0
    assert load_image(tmp_path / "rgba.png", Preprocessing(image_size=40, channels=1)).shape == (
        1,
        40,
        40,
    )


def test_centre_zoom_keeps_the_middle(tmp_path):
    """A bright 20 px square in a 80 px image fills a quarter of the width, half after zoom 2."""
    image = np.zeros((80, 80), np.uint8)
    image[30:50, 30:50] = 255
    Image.fromarray(image).save(tmp_path / "square.png")
    plain = load_image(tmp_path / "square.png", Preprocessing(image_size=40))
    zoomed = load_image(tmp_path / "square.png", Preprocessing(image_size=40, zoom=2.0))
    assert (plain[0] > 127).mean() == pytest.approx(0.25**2, abs=0.01)
    assert (zoomed[0] > 127).mean() == pytest.approx(0.5**2, abs=0.02)


def test_fits_bands_go_to_channels_reddest_first(tmp_path, rng):
    """A g, r, z cube with light in g only gives a blue image; one band gives grey."""
    from astropy.io import fits

    cube = rng.normal(0, 1, (3, 48, 48)).astype(np.float32)
    yy, xx = np.mgrid[:48, :48]
    cube[0] += 200 * np.exp(-((xx - 24) ** 2 + (yy - 24) ** 2) / 30)  # g band only
    fits.PrimaryHDU(cube).writeto(tmp_path / "grz.fits")
    fits.PrimaryHDU(cube[0]).writeto(tmp_path / "g.fits")

    rgb = load_image(tmp_path / "grz.fits", Preprocessing(image_size=32)).astype(float)
    assert rgb.shape == (3, 32, 32)
    assert rgb[2, 12:20, 12:20].mean() > 200  # blue channel holds the g-band galaxy
    assert rgb[0, 12:20, 12:20].mean() < 100
    grey = load_image(tmp_path / "g.fits", Preprocessing(image_size=32))
    np.testing.assert_array_equal(grey[0], grey[2])


def test_arcsinh_stretch_is_monotonic_and_bounded(rng):
    band = rng.normal(10, 2, (32, 32))
    band[16, 16] = 1e5
    stretched = arcsinh_stretch(band)
    assert stretched.min() >= 0 and stretched.max() <= 1
    flat = np.argsort(band.ravel())
    assert np.all(np.diff(stretched.ravel()[flat]) >= -1e-6)
    assert bands_to_channels(np.stack([band, band]) / 1e5, 3).shape == (3, 32, 32)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.jpg", b"", "empty file"),
        ("notes.png", b"this is text, not a picture", "cannot decode"),
        ("broken.fits", b"SIMPLE  =  T" + b" " * 20, "cannot decode"),
    ],
)
def test_bad_files_raise_image_errors(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ImageError, match=reason):
        load_image(tmp_path / name)


def test_truncated_jpeg_raises(tmp_path, gz_examples):
    data = next(iter(sorted((gz_examples / "images").glob("*.jpg")))).read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageError, match="cannot decode"):
        load_image(tmp_path / "cut.jpg")


def test_preprocessing_rejects_bad_parameters():
    with pytest.raises(ValueError, match=r"zoom must be >= 1\.0"):
        Preprocessing(zoom=0.5)
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        Preprocessing(channels=4)


def test_16_bit_png_is_scaled_not_saturated(tmp_path):
    """Issue 16, case 6: a 16-bit PNG was clipped to near-white by Pillow's conversion."""
    ramp = np.tile(np.linspace(0, 65535, 64), (64, 1)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as im:
        assert im.mode.startswith("I")  # Pillow reads it as a 16/32-bit integer image
    out = load_image(tmp_path / "deep.png", Preprocessing(image_size=64))
    assert out.shape == (3, 64, 64)
    expected = np.round(ramp / 257.0)
    assert np.abs(out[0].astype(float) - expected).max() <= 2  # bilinear resize of a ramp
    assert 100 < out.mean() < 155  # a ramp from black to white, not saturated white


def test_float_images_are_scaled_from_their_range():
    from raregal.encode.images import scale_to_uint8

    unit = np.array([[0.0, 0.5], [1.0, np.nan]], np.float32)
    np.testing.assert_array_equal(scale_to_uint8(unit), [[0, 128], [255, 0]])
    wide = np.array([[-10.0, 0.0], [10.0, 30.0]], np.float32)
    np.testing.assert_array_equal(scale_to_uint8(wide), [[0, 64], [128, 255]])
    with pytest.raises(ImageError, match="every pixel is NaN or infinite"):
        scale_to_uint8(np.full((4, 4), np.nan, np.float32))


def test_an_all_nan_fits_is_refused_not_encoded_as_black(tmp_path):
    """Issue 16, case 6: an all-NaN FITS was encoded as a black image; now it is an ImageError,
    which embed lists in the failures table."""
    from astropy.io import fits

    fits.PrimaryHDU(np.full((3, 32, 32), np.nan, np.float32)).writeto(tmp_path / "nan.fits")
    with pytest.raises(ImageError, match=r"nan\.fits: every pixel of the FITS image is NaN"):
        load_image(tmp_path / "nan.fits")
