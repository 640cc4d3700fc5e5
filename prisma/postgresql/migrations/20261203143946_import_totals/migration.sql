-- AlterTable
ALTER TABLE "ImportRecord" ADD COLUMN     "conflictCount" INTEGER,
ADD COLUMN     "recordCount" INTEGER;
