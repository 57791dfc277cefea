#!/bin/bash
# Remakes every picture and number of docs/mnist from the MNIST model (runs/mnist), from the repository root:
#   bash docs/mnist/make.sh          (or BCM=path/to/Bcm.Cli bash docs/mnist/make.sh)
# Scratch outputs go to $OUT (default out/mnist-doc); the pictures and the numbers the page quotes (CSV) are copied
# into docs/mnist, and everything printed is in $OUT/log.txt. About 3 minutes.
set -euo pipefail
BCM=${BCM:-./bcm}
R=${RUN:-models/mnist/bcm/model.safetensors}
D=mnist:../shared/data/mnist
O=${OUT:-out/mnist-doc}
DOC=docs/mnist
mkdir -p "$O"
exec > >(tee "$O/log.txt") 2>&1
run() { echo "\$ bcm $*"; $BCM "$@"; }

for p in onestep ancestral2 zigzag3 mixed4; do
  run sample -c $R --plan $p -n 64 --out $O/$p
  cp $O/$p/samples.png $DOC/samples-$p.png
done
for p in invert1 invert2; do
  run invert -c $R --data $D@test -n 32 --plan $p --out $O/$p
  cp $O/$p/roundtrip.png $DOC/roundtrip-$p.png
  cp $O/$p/metrics.csv $DOC/metrics-$p.csv
done
run invert -c $R --data $D@test -n 24 --out $O/inv24     # writes the test images as PNG too
run interpolate $O/inv24/image-00000.png $O/inv24/image-00001.png -c $R --plan invert2 --out $O/interp
cp $O/interp/strip.png $DOC/interpolation-7-to-2.png
run inpaint $O/inv24/image-00000.png --box 3,3,10,6 -c $R --out $O/inpaint
cp $O/inpaint/rounds.png $DOC/inpainting-rounds.png
run degrade $O/inv24/image-000{08..23}.png --downsample 2 --out $O/down
for i in $(seq -w 8 23); do
  run superres $O/down/image-000$i.down2.png --factor 2 --clean $O/inv24/image-000$i.png -c $R --out $O/sr$i
done
cp $O/sr08/rounds.png $DOC/superres-rounds.png
# Each superres run wrote psnr.csv (rows superres, bilinear); one row per image here, and the summary the page quotes.
{ echo "image,psnr_superres_db,psnr_bilinear_db"
  for i in $(seq -w 8 23); do awk -F, -v i=$((10#$i)) 'NR==2{s=$2} NR==3{b=$2} END{print i "," s "," b}' $O/sr$i/psnr.csv; done
} > $DOC/superres.csv
awk -F, 'NR>1{n++; s+=$2; b+=$3; w+=($2>$3)} END{print "images,mean_psnr_superres_db,mean_psnr_bilinear_db,images_better"; printf "%d,%.6f,%.6f,%d\n", n, s/n, b/n, w}' \
  $DOC/superres.csv > $DOC/superres-summary.csv
run restore -c $R --data $D@test --offset 100 -n 500 -q 10,15,20 --out $O/restore-heldout
cp $O/restore-heldout/restoration.csv $DOC/restoration-heldout.csv
cp $O/restore-heldout/restoration-q10.png $DOC/restoration-heldout-q10.png
cp $O/restore-heldout/restoration-q20.png $DOC/restoration-heldout-q20.png
# One-image blind restoration of JPEG-15 copies of test images 0-7 (the levels are the defaults, fixed in the code).
run degrade $O/inv24/image-0000{0..7}.png -q 15 --out $O/deg8
for i in 0 1 2 3 4 5 6 7; do
  run restore $O/deg8/image-0000$i.jpeg15.png --clean $O/inv24/image-0000$i.png -c $R --out $O/restore$i
done
# Each restore run wrote psnr.csv (rows input, restored); one row per image here and their mean.
{ echo "image,psnr_jpeg_db,psnr_restored_db"
  for i in 0 1 2 3 4 5 6 7; do awk -F, -v i=$i 'NR==2{a=$2} NR==3{b=$2} END{print i "," a "," b}' $O/restore$i/psnr.csv; done
} > $DOC/restore-jpeg15.csv
awk -F, 'NR>1{n++; a+=$2; b+=$3} END{printf "mean,%.6f,%.6f\n", a/n, b/n}' $DOC/restore-jpeg15.csv >> $DOC/restore-jpeg15.csv
echo "done"
