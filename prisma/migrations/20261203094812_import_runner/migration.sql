-- AlterTable
ALTER TABLE "ImportRecord" ADD COLUMN "runner" TEXT;
